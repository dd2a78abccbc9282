"""The web workbench (工作台) of the hotline: server-rendered pages for clerks, the shift lead, the
centre's operators, streets, enterprises and leaders, next to the HTTP API, in one FastAPI app."""
