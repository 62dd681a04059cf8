"""GAN Playground web app. Hugging Face Spaces runs this file; locally: `python app.py`.

Listens on GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (default 127.0.0.1:7860). TensorFlow is not imported
while the page is built: the server starts first, then warm_up loads TensorFlow and the first checkpoint.
"""
from playground.web.app import build_demo, launch_options, warm_up

demo = build_demo()

if __name__ == "__main__":
    demo.launch(prevent_thread_lock=True, **launch_options())   # the app's limits at Gradio's door
    warm_up()          # import TensorFlow and load the first checkpoint now, not on the first visitor's click
    demo.block_thread()
