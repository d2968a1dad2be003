"""The interface's languages: the texts and their catalogs, dates and numbers."""
