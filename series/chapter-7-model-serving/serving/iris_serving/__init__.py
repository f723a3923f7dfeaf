"""Chapter 7's FastAPI app: serves the MLflow registry's champion iris classifier over HTTP.

Modules: settings (environment), schemas (request and response types), model (the champion,
resolved by alias and swapped when the alias moves), metrics (Prometheus), app (the routes),
register (the Job that makes sure a champion exists).
"""
