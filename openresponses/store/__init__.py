"""Response storage backends behind one synchronous interface (``Store``)."""

from openresponses.store.base import ItemsPage as ItemsPage
from openresponses.store.base import Store as Store
from openresponses.store.base import StoredResponse as StoredResponse
from openresponses.store.base import open_store as open_store
from openresponses.store.base import validate_record as validate_record
from openresponses.store.sqlite import SqliteStore as SqliteStore

__all__ = ["ItemsPage", "SqliteStore", "Store", "StoredResponse", "open_store", "validate_record"]
