"""listener: the `Post` record every platform is turned into, and (with the collectors issue) one collector
per platform. Pure parsing at the core, HTTP at the edge; never imports storage, jobs or web.
"""
