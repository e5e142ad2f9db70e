"""jobs: plain `async def run(services, ...)` units of work (housekeeping now; collect, analyse, stories and
reports as they land), the only place that combines listener, nlp and storage, and the one module that talks
to APScheduler (`jobs.scheduler`).
"""
