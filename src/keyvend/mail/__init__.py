"""The mails Keyvend sends: built-in Jinja2 templates and their renderer."""
