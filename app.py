"""GAN Playground web app. Hugging Face Spaces runs this file; locally: `python app.py`.

Listens on GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (default 127.0.0.1:7860). TensorFlow is not imported
here: the page is served first, then a background warm-up loads it (see playground.ui.warm_up).
"""
import os

# One TensorFlow thread per op: on a 2-core Space, training then leaves a core for the page (slider renders
# while training got ~1.5x faster, and training itself no slower). Override by setting the variable.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")

from playground.ui import build_demo, warm_up  # noqa: E402  (after the TF setting above)

demo = build_demo()

if __name__ == "__main__":
    demo.launch(prevent_thread_lock=True)
    warm_up()          # import TensorFlow and load the first checkpoint now, not on the first visitor's click
    demo.block_thread()
