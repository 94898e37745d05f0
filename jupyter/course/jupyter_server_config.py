# The course's Jupyter server settings for students and instructors (read through
# JUPYTER_CONFIG_PATH: `make lab`, `make lab-instructor`, README's other routes).
import os


def make_missing_folders(model, path, contents_manager, **kwargs):
    """Saving to a folder that does not exist yet creates it instead of failing with "No such file
    or directory": README tells students to keep their work with File → Save Notebook As…
    `my-work/...`, a folder that a fresh clone does not have (git ignores it)."""
    os.makedirs(os.path.dirname(contents_manager._get_os_path(path)), exist_ok=True)


c.ContentsManager.pre_save_hook = make_missing_folders  # noqa: F821 (`c` is given by traitlets)
