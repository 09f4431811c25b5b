"""Contains all the data models used in inputs/outputs"""

from .activity import Activity
from .activity_create import ActivityCreate
from .author import Author
from .error import Error
from .error_errors import ErrorErrors
from .pagination_links import PaginationLinks

__all__ = (
    "Activity",
    "ActivityCreate",
    "Author",
    "Error",
    "ErrorErrors",
    "PaginationLinks",
)
