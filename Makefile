# The two commands for a fresh machine are `make dev` and `make test`; the rest are parts of them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
STACK := bash deploy/local/stack.sh

.PHONY: help deps stack-up stack-down stack-status test test-unit test-int typecheck dev

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

deps: node_modules/.package-lock.json ## install the npm dependencies (npm ci)

stack-up: ## start the local stack (Kafka, registry, MariaDB, PostgreSQL, ClickHouse) under .stack/
	@$(STACK) up

stack-down: ## stop every process of the local stack
	@$(STACK) down

stack-status: ## show what runs in the local stack
	@$(STACK) status

typecheck: deps ## type-check every TypeScript file
	npx tsc --noEmit -p .

test-unit: deps ## the fast tests beside the code (no servers)
	npx vitest run --project unit

test-int: deps stack-up ## the integration tests against the local stack
	npx vitest run --project integration

test: deps stack-up typecheck ## run every test: type-check, unit and integration (starts the local stack if needed)
	npx vitest run

dev: deps stack-up ## the demo pipeline on the local stack: two shops, their captures, five sinks, the admin (Ctrl-C stops it)
	@node --import tsx deploy/local/demo.ts
