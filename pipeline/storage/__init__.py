"""Storage: the SQLModel tables, the migrations that make them, and the Store that reads and writes rows."""
