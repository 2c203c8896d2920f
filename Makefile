# The two commands a new user needs (see README.md):
#   make lab    create .venv if it is missing, then open the course in JupyterLab
#   make test   create .venv if it is missing, then run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: lab test lint site bench bench-mutation bench-lessons release clean-venv

$(BIN)/nncourse: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

lab: $(BIN)/nncourse
	$(BIN)/nncourse lab

test: $(BIN)/nncourse
	$(BIN)/ruff check .
	# Three workers on two cores: a third keeps the CPUs busy while one waits on a server, a
	# browser or the disk (734 and 785 s in two runs, 799 s with two workers); one BLAS/OpenMP
	# thread each, or they fight over the cores.
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 3 --dist loadfile

lint: $(BIN)/nncourse
	$(BIN)/ruff check .

# The course as a static website in _site/html/ (works offline: open _site/html/index.html).
# The lessons are executed (cached in _site/jupyter_cache: a rebuild re-runs changed ones only).
site: $(BIN)/nncourse
	$(BIN)/python site/build.py --execute

bench: $(BIN)/nncourse
	$(BIN)/python bench/mnist_mlp.py

# Mutants of every reference answer, graded; exit 1 when the hidden tests kill < 97 % of them.
bench-mutation: $(BIN)/nncourse
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python bench/mutation.py

# Every lesson executed quiet (time, peak memory), lessons 10 and 11 again beside busy processes.
bench-lessons: $(BIN)/nncourse
	$(BIN)/python bench/lessons.py --all

clean-venv:
	rm -rf $(VENV)
