#!/usr/bin/env python3
"""Checks conanfile.py without Conan, which cannot be installed here: the recipe is imported
against a small stub of the `conan` module, requirements(), layout() and package_info() are
called, and what they declare is compared with what `cmake --install` produced in PREFIX.

What it proves: the recipe loads and declares a library package; every component requirement
names a direct requirement or a sibling component and every direct requirement is used by a
component (Conan 2 refuses a recipe otherwise); the CMake file and target names, the library
files, include and bin directories it declares exist in the install with those names. What it
cannot prove: that ConanCenter's packages resolve and build (no Conan, no network to it).

    conan_recipe_check.py RECIPE_DIR PREFIX
"""
import importlib.util
import pathlib
import re
import sys
import types


class Component:
    def __init__(self):
        self.libs, self.requires, self.includedirs, self.bindirs, self.properties = [], [], ["include"], ["bin"], {}

    def set_property(self, name, value):
        self.properties[name] = value


class CppInfo(Component):
    def __init__(self):
        super().__init__()
        self.components = {}

    def __getattr__(self, name):
        raise AttributeError(name)


class Components(dict):
    def __missing__(self, key):
        self[key] = Component()
        return self[key]


def install_stub():
    """The parts of Conan 2's API the recipe and test_package use, recording what they are told."""
    conan = types.ModuleType("conan")

    class ConanFile:
        def __init__(self):
            self.requirements_seen = []
            self.layout_called = None
            self.cpp_info = CppInfo()
            self.cpp_info.components = Components()

        def requires(self, ref, **traits):
            self.requirements_seen.append((ref, traits))

    conan.ConanFile = ConanFile
    tools = types.ModuleType("conan.tools")
    cmake = types.ModuleType("conan.tools.cmake")

    def cmake_layout(conanfile, *args, **kwargs):
        conanfile.layout_called = "cmake_layout"

    class Unused:
        def __init__(self, *args, **kwargs):
            raise AssertionError("not called by this check")

    cmake.cmake_layout = cmake_layout
    cmake.CMake = cmake.CMakeDeps = cmake.CMakeToolchain = Unused
    build = types.ModuleType("conan.tools.build")
    build.can_run = lambda conanfile: True
    sys.modules.update({"conan": conan, "conan.tools": tools, "conan.tools.cmake": cmake, "conan.tools.build": build})


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem + "_under_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    classes = [c for c in vars(module).values() if isinstance(c, type) and c.__name__ != "ConanFile"
               and issubclass(c, sys.modules["conan"].ConanFile)]
    assert len(classes) == 1, f"{path}: one ConanFile class expected, found {classes}"
    return classes[0]


def main(recipe_dir, prefix):
    install_stub()
    failures = []

    def check(ok, what):
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    recipe = load(recipe_dir / "conanfile.py")()
    recipe.requirements()
    recipe.layout()
    recipe.package_info()
    direct = {ref.split("/")[0]: ref for ref, _ in recipe.requirements_seen}
    print("requirements:", ", ".join(direct.values()))
    check(recipe.package_type in ("static-library", "shared-library", "library"),
          f"package_type is a library ({recipe.package_type})")
    check(recipe.layout_called == "cmake_layout", "layout() uses cmake_layout")
    for needed in ("boost", "libjwt", "sqlite3", "fmt", "openssl", "hiredis", "prometheus-cpp"):
        check(needed in direct, f"requires {needed}")

    components = recipe.cpp_info.components
    used = set()
    for name, component in components.items():
        for req in component.requires:
            if "::" in req:
                package = req.split("::")[0]
                used.add(package)
                check(package in direct, f"component {name} requires {req}: a direct requirement")
            else:
                check(req in components, f"component {name} requires sibling {req}")
    for package in direct:
        check(package in used, f"direct requirement {package} is used by a component")

    configs = sorted(prefix.glob("lib*/**/cmake/dashboard_hub")) + sorted(prefix.glob("lib*/cmake/dashboard_hub"))
    cmake_dir = configs[0] if configs else prefix / "lib" / "cmake" / "dashboard_hub"
    file_name = recipe.cpp_info.properties.get("cmake_file_name")
    check((cmake_dir / f"{file_name}Config.cmake").is_file(), f"cmake_file_name {file_name}: {file_name}Config.cmake installed")
    exported = (cmake_dir / "dashboard_hubTargets.cmake").read_text() if (cmake_dir / "dashboard_hubTargets.cmake").is_file() else ""
    protocol = components.get("protocol")
    check(protocol is not None, "a protocol component")
    if protocol:
        target = protocol.properties.get("cmake_target_name")
        check(target == "dashboard_hub::protocol", f"protocol's target is dashboard_hub::protocol ({target})")
        check(re.search(r"add_library\(dashboard_hub::protocol\b", exported) is not None,
              "cmake --install exported the same target")
        for lib in protocol.libs:
            found = list(prefix.glob(f"lib*/**/lib{lib}.a")) + list(prefix.glob(f"lib*/lib{lib}.a"))
            check(bool(found), f"library {lib}: lib{lib}.a installed")
        for inc in protocol.includedirs:
            check((prefix / inc / "protocol" / "messages.hpp").is_file(), f"includedir {inc} holds protocol/messages.hpp")
    for name, component in components.items():
        for bindir in component.bindirs:
            if name == "gateway":
                check((prefix / bindir / "dashboard-hub").is_file(), f"component gateway: {bindir}/dashboard-hub installed")
    tester = load(recipe_dir / "test_package" / "conanfile.py")()
    tester.tested_reference_str = "dashboard-hub/" + recipe.version
    tester.requirements()
    tester.layout()
    check([ref for ref, _ in tester.requirements_seen] == [tester.tested_reference_str],
          "test_package requires the package under test and loads")
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("the recipe agrees with the install")
    return 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))
