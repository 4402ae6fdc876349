# neo-recommender: every target installs what it needs first (a .venv and the pinned CDK CLI).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
CHECKOV := .venv-checkov/bin/checkov
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONPATH := $(CURDIR)/constructs:$(CURDIR)/lambdas

.PHONY: install demo test synth lint bench clean validate instance-types integ integ-snapshot

install: $(VENV)/.installed $(CDK)

# checkov lives in a virtualenv of its own: its pinned dependencies clash with the CDK's.
$(CHECKOV): requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --upgrade pip
	.venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .   # the neo-recommender command, from this checkout
	touch $@

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install
	$(PY) -m neo_recommender demo

test: install $(CHECKOV)
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q

synth: install
	$(CDK) synth --quiet
	$(VENV)/bin/cfn-lint cdk.out/NeoRecommenderStack.template.json
	@echo "Template: cdk.out/NeoRecommenderStack.template.json"

# Check a submission the way the pipeline will: make validate MANIFEST=path/to/recommend.json
validate: install
	$(VENV)/bin/neo-recommender validate $(MANIFEST)

# Refresh the shipped list of SageMaker real-time instance types from the pinned botocore.
instance-types: install
	$(PY) -c "import json, botocore, botocore.session; \
	m = botocore.session.get_session().get_service_model('sagemaker'); \
	doc = {'source': 'botocore %s, sagemaker service model, shape ProductionVariantInstanceType' % botocore.__version__, \
	       'instance_types': sorted(m.shape_for('ProductionVariantInstanceType').enum)}; \
	open('lambdas/neo_runtime/realtime_instance_types.json', 'w').write(json.dumps(doc, indent=0) + '\n')"

# The real-account integration test (tests/integ/integ_pipeline.py): deploys the pipeline and the integ-tests
# assertions into the account of AWS_PROFILE, whose assertions submit the sample model and wait (up to 2 hours) for a
# COMPLETED run; then destroys both stacks, whatever the outcome. Bills a real Inference Recommender job (docs/operations.md).
# The pinned CLI deploys it: the pinned integ-runner cannot read this cloud assembly's schema yet (tests/integ).
INTEG_APP := $(CURDIR)/$(PY) tests/integ/integ_pipeline.py
integ: install
	@test -n "$$AWS_PROFILE" || (echo "make integ deploys into a real account: set AWS_PROFILE (and AWS_REGION)" && exit 2)
	$(CDK) deploy --app "$(INTEG_APP)" --all --require-approval never --output cdk.out.integ; \
	status=$$?; \
	$(CDK) destroy --app "$(INTEG_APP)" --all --force --output cdk.out.integ; \
	exit $$status

# Refresh the integration test's snapshot after changing it (make test compares against it).
integ-snapshot: install
	$(PY) tests/integ/snapshot.py

lint: install
	$(VENV)/bin/ruff check .

# The pipeline's own overhead in one table (about 25 minutes: the load curve to 1,000 runs and the test suite it times): see docs/benchmarks.md.
bench: install $(CHECKOV)
	$(PY) bench/run.py --json bench-results.json

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache
