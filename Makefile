# Two commands: `make lab` opens the course, `make test` runs every test.
# Both create .venv when it is missing and (re)install only when pyproject.toml or
# requirements.lock changed since the last install.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Extra arguments for pip (for example: PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu").
PIP_ARGS ?=
# Extra arguments for pytest (for example: PYTEST_ARGS="-k minifw").
PYTEST_ARGS ?=
# Parallel pytest workers (each notebook, each test file runs whole on one worker).
WORKERS ?= auto
LAB_ARGS ?=
# Extra arguments for site/build.py (for example: SITE_ARGS=--fresh to re-execute every lesson).
SITE_ARGS ?=

export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab lab-instructor test site install lock clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_ARGS) -c requirements.lock -e ".[all]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (nn-course)" >/dev/null
	@touch $(STAMP)

# JupyterLab reads the course's settings from jupyter/ (JUPYTER_CONFIG_PATH, ahead of the user's
# own): jupyter/course for everyone (long code lines wrap); jupyter/student opens the setup check
# and hides nbgrader's instructor tools (Validate stays). Instructors: `make lab-instructor`.
lab: $(STAMP)
	JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter/student:$(CURDIR)/jupyter/course" $(BIN)/jupyter lab --notebook-dir=. $(LAB_ARGS)

lab-instructor: $(STAMP)
	JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter/course" $(BIN)/jupyter lab --notebook-dir=. $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile $(PYTEST_ARGS)

# The course as a website in _build/html: every lesson executed (cached between builds),
# warnings as errors, internal links checked; then the checks of the built pages and a look at
# two of them in headless Chromium (skipped when there is none). SITE_LINKCHECK=external also
# checks external links (needs a network).
site: $(STAMP)
	$(BIN)/python site/build.py $(SITE_ARGS)
	SITE_BUILT=1 $(BIN)/python -m pytest -n 0 -q tests/test_site_build.py

# Re-pin every package after changing pyproject.toml (the local "+cpu" tag is dropped so the
# same pin takes the default torch build elsewhere).
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^nn-course' | sed 's/+cpu$$//' > requirements.lock

clean-venv:
	rm -rf $(VENV)
