# Two commands for a fresh machine: `make demo` and `make test`.
# The virtual environment is built once and reused until pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# torch and torchvision must be a matching pair; facenet-pytorch's MTCNN needs torchvision.
ARCH := $(shell uname -m)
ifeq ($(ARCH),aarch64)
TORCH_PAIR := torch==2.9.1 torchvision==0.24.1
else
TORCH_PAIR := torch==2.14.1 torchvision==0.29.1
endif

# Without a screen, pygame draws off-screen and matplotlib writes files only.
ifeq ($(DISPLAY)$(WAYLAND_DISPLAY),)
export SDL_VIDEODRIVER ?= dummy
export MPLBACKEND ?= Agg
endif

.PHONY: demo test lint typecheck format clean

# The project installs with -qq (errors only): setuptools notes every editable install of a
# mapped layout ("Editable installation... folders with the same name"), no problem of ours.
# A new environment takes about 7 GB (torch and torchvision's CUDA build, 5.6 GB, is the only
# pair pip finds for x86_64 Linux): a disk with less room fails early, saying so, instead of
# half-way through pip with "No space left on device".
NEED_GB := 8
$(STAMP): pyproject.toml Makefile
	@if [ ! -d $(VENV)/lib ]; then \
	    mkdir -p $(VENV) && free_kb=$$(df -Pk $(VENV) | awk 'NR == 2 {print $$4}'); \
	    if [ "$$free_kb" -lt $$(( $(NEED_GB) * 1024 * 1024 )) ]; then \
	        echo "make: a new $(VENV) needs about $(NEED_GB) GB free; $$(( free_kb / 1024 / 1024 )) GB are free on its disk. Free some space and run make again." >&2; \
	        rmdir $(VENV) 2>/dev/null; exit 1; \
	    fi; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PAIR)
	$(BIN)/python -m pip install -qq -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/laetitia demo

lint: $(STAMP) typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow the editable install's package-dir mapping (emoticon/, envs/ and agents/
# install as laetitia.emoticon, .envs, .agents), so it reads a tree of links laid out as the
# package installs. The tree is laid anew each time, so a new module is always seen; mypy's
# cache beside it is kept.
TYPECHECK := build/typecheck
typecheck: $(STAMP)
	rm -rf $(TYPECHECK)/laetitia
	mkdir -p $(TYPECHECK)/laetitia
	for entry in laetitia/* emoticon envs agents; do ln -s "$(CURDIR)/$$entry" $(TYPECHECK)/laetitia/; done
	cd $(TYPECHECK) && $(abspath $(BIN))/python -m mypy --config-file $(CURDIR)/pyproject.toml

# -rs prints the reason of every skipped test (the real-face media, strace) and --durations the
# slowest tests (where CI's time goes). The suite takes 5-10 minutes on two cores; `timeout`
# ends a run that hangs after 25 with an interrupt, which makes pytest print the failures so
# far (a hang follows a failure whose teardown waits).
test: lint
	timeout --signal=INT --kill-after=60 1500 $(BIN)/python -m pytest -q -n 2 -rs --durations=15

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info
