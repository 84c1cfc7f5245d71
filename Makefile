# The two commands of the README, and the pieces they are made of.
.PHONY: demo test setup lint pytest images scenario demo-down docs

demo: setup            ## local container hosts over SSH, site.yml applied to them
	scripts/demo

test: setup            ## lint, pytest and every Molecule scenario on Debian 13 and 12
	scripts/test

setup:                 ## venv, collection link, dockerd, test images (idempotent)
	scripts/setup

lint pytest:
	scripts/setup --no-docker && scripts/test $@

scenario:              ## one scenario: make scenario S=common
	scripts/setup && scripts/test $(S)

demo-down:
	scripts/local-hosts down

docs:                  ## regenerate the roles' variable tables from argument_specs
	.venv/bin/python scripts/role_docs.py
