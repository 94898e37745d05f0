"""nngrade: the instructor command of the course, a thin layer over nbgrader.

generate (solutions/ -> labs/), collect (student files -> submitted/), autograde (each
submission in its own limited process on a scratch copy), feedback (HTML) and export (CSV).
"""
