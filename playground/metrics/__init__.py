"""How good and how varied a generator's samples are: the numbers behind the live readouts and `eval`."""
