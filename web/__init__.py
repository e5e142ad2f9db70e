"""web: the aiohttp application: health and readiness endpoints and the server-rendered pages."""
