"""PySide6 editor UI. Gets an EngineClient and a Catalog from the caller; never imports the engine."""
