"""The JSON API, version 1: routers of each app mounted under /api/v1/."""

from ninja import NinjaAPI

api = NinjaAPI(title="Chairside API", version="1", urls_namespace="api-v1")
