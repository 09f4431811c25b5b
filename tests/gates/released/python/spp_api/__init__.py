"""A client library for accessing Service Provider Pro - Client Activities"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
