# boot.py runs first at every power-up or reset, before main.py.
# Nothing to set up here: main.py reads config.json and does the work.
