"""Making reports: the activity that reads the figures and writes the files (Markdown, xlsx, docx, HTML,
CSV, charts), the closed-ticket ledger (办结台账) it keeps, and the red service team's lists as files."""
