#!/usr/bin/env bash
# Regenerates docs/man/stdio-filter.1 with swift-argument-parser's generate-manual plugin
# (one page for the command and all its subcommands). Run after changing any --help text.
set -euo pipefail
cd "$(dirname "$0")/.."
# Its own build directory: the plugin builds the tool without testability, and sharing .build
# would leave release modules that `swift test -c release` then refuses to @testable-import.
swift package --scratch-path .build-manual plugin generate-manual --date "$(date +%Y-%m-%d)" --authors "stdio-filter developers" 2>&1 | tail -n 1 >&2
cp .build-manual/plugins/GenerateManual/outputs/stdio-filter/stdio-filter.1 docs/man/stdio-filter.1
echo "docs/man/stdio-filter.1 updated (read it with: man -l docs/man/stdio-filter.1)" >&2
