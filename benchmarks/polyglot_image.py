"""The polyglot sandbox image: dgm's sandbox image plus the toolchains of DGM's polyglot
benchmark, so its exercises build and test with no network at run time.

DGM's image (jennyzzt/dgm polyglot/dockerfiles.py:2-60) holds Python, Go, Rust, Node.js
with jest and Exercism's babel/eslint packages installed in /npm-install (its
javascript test command links them in: polyglot/constants.py:9-21), cmake and a C++
compiler, and a JDK. Here the toolchains come from Debian and the npm packages from the
npm registry, fetched when the image is built (`sandbox.image.build_layer`, cached by a
hash of these lists: an unchanged image is reused). Java's is Debian's JDK 17 (DGM's: 21)
with Debian's JUnit 5 and AssertJ jars, which its test command here compiles and runs
against: DGM's `./gradlew test` downloads Gradle and JUnit from hosts no machine of this
project reaches (benchmarks/polyglot.py, docs/fidelity.md).

    tag = polyglot_image(step=print)   # builds once, then returns at once
"""

from __future__ import annotations

from collections.abc import Callable

APT = (
    "golang-go",
    "cargo",
    "nodejs",
    "npm",
    "cmake",
    "make",
    "g++",
    "default-jdk-headless",
    "junit5",  # with the JUnit Platform console launcher (standalone jar)
    "libassertj-core-java",
)

# DGM's /npm-install (polyglot/dockerfiles.py:45-56), with jest pinned to the version the
# exercises' package.json files ask for (DGM installs the newest).
NPM = (
    "jest@29.7.0",
    "@babel/core@7.25.2",
    "@exercism/babel-preset-javascript@0.2.1",
    "@exercism/eslint-config-javascript@0.6.0",
    "@types/jest@29.5.12",
    "@types/node@20.12.12",
    "babel-jest@29.6.4",
    "core-js@3.37.1",
    "eslint@8.49.0",
)
NPM_DIR = "/npm-install"

# Run as root in the build container, after the Debian packages: the npm packages in
# NPM_DIR (through the host's CA bundle, which build_layer puts in /tmp/dgm-layer), made
# readable by the sandbox's user.
SCRIPT = (
    f"mkdir -p {NPM_DIR} && cd {NPM_DIR} && npm init -y >/dev/null\n"
    "NODE_EXTRA_CA_CERTS=/tmp/dgm-layer/ca.crt npm install --no-audit --no-fund "
    "--loglevel=error " + " ".join(NPM) + "\n"
    f"chmod -R a+rX {NPM_DIR}\n"
    "rm -rf /root/.npm\n"
)


def polyglot_image(step: Callable[[str], None] = lambda _m: None) -> str:
    """The polyglot image's tag, built on first use (minutes) and reused after."""
    from sandbox import SandboxError, image
    from sandbox.docker_backend import connect

    client = connect()
    try:
        base = image.image_tag()
        if not image.image_exists(client, base):
            raise SandboxError(f"sandbox image {base} is not built: run `dgm sandbox build`")
        return image.build_layer(client, base, pip=(), apt=APT, script=SCRIPT, step=step)
    finally:
        client.close()
