"""Pure parsers: one module per platform turning its recorded payload shape into `Post` records."""
