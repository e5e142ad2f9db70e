"""`listener demo`: a bundled sample campaign loaded through the real pipeline, for newcomers and scripts.

- `samples`: the sample files and their manifest (pure: payloads in, `Post`s out, dates moved to today);
- `logins`: the demo accounts and their public passwords;
- `curation`: the demo curator's moves along the rights workflow;
- `load`: the whole load, step by step, each step idempotent (a second run changes nothing).
"""
