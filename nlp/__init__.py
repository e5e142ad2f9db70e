"""nlp: text in, analysis out (language, normalisation, merchant links, discovery, sentiment, story signals).

Pure: no database, no network; storage and jobs feed it and keep its results.
"""
