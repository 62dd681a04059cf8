"""The web app: Gradio wiring (app, layout, explore) over plain-Python logic (sessions, saved runs, views,
plots). Only app.py, layout.py, explore.py and errors.py import Gradio."""
