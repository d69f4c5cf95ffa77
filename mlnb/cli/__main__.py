"""``python -m mlnb.cli`` — same as the ``mlnb`` console script."""

from mlnb.cli import main

if __name__ == "__main__":
    main()
