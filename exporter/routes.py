"""Route templates for the ``endpoint`` label, resolved without importing any framework.

A resolver is any callable taking the ASGI scope or WSGI environ and returning the route
template (``/reservations/{id}``) or None for "no route" (labelled ``other``). Resolution is
cached by (method, path) in a bounded LRU, so a steady set of URLs costs one cache hit per request
and a flood of random URLs costs bounded memory.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

RouteResolver = Callable[[Mapping[str, Any]], "str | None"]

DEFAULT_CACHE = 4096


class StarletteRoutes:
    """Starlette/FastAPI routes, matched the way the router matches them.

    The router is the app given here, else ``scope["app"]`` (set by Starlette before its
    middleware stack runs). Matching happens before the app runs, on a copy of the few scope keys
    routing reads, because mounts rewrite ``root_path`` in the shared scope; mount prefixes are
    kept (``/api/items/{id}``), which ``scope["route"]`` after the call would lose.
    """

    def __init__(self, app: Any = None, maxsize: int = DEFAULT_CACHE) -> None:
        # Apps by id: routers define __eq__ without __hash__, so the cache key holds the id and
        # this dict keeps the app alive (so the id cannot be reused by another object).
        self._apps: dict[int, Any] = {}
        self._app_id = None if app is None else id(app)  # the fixed router, if given
        if app is not None:
            self._apps[id(app)] = app
        self._cached = functools.lru_cache(maxsize=maxsize)(self._resolve)

    def __call__(self, scope: Mapping[str, Any]) -> str | None:
        key = self._app_id
        if key is None:
            app = scope.get("app")
            if app is None:
                return None
            key = id(app)
            if key not in self._apps:
                if len(self._apps) >= 64:
                    return None
                self._apps[key] = app
        return self._cached(key, scope["method"], scope["path"], scope.get("root_path", ""))

    def _resolve(self, app_id: int, method: str, path: str, root_path: str) -> str | None:
        routes = getattr(self._apps[app_id], "routes", None)
        if routes is None:
            return None
        scope = {"type": "http", "method": method, "path": path, "root_path": root_path,
                 "path_params": {}, "headers": []}
        try:
            return _walk(routes, scope, "")
        except Exception:  # a custom route class we cannot match offline: "other"
            return None


def _walk(routes: Iterable[Any], scope: dict[str, Any], prefix: str) -> str | None:
    partial = None
    for route in routes:
        match, child = route.matches(scope)
        kind = getattr(match, "name", "")
        if kind == "FULL":
            return _template(route, {**scope, **child}, prefix)
        if kind == "PARTIAL" and partial is None:  # e.g. wrong method: the router answers 405
            partial = (route, child)
    if partial is not None:
        return _template(partial[0], {**scope, **partial[1]}, prefix)
    return None


def _template(route: Any, scope: dict[str, Any], prefix: str) -> str | None:
    sub = getattr(route, "routes", None)
    path = getattr(route, "path", "")  # a Host route has no path
    if sub is None:
        return prefix + path
    if sub:
        return _walk(sub, scope, prefix + path)
    return f"{prefix}{path}/{{path:path}}"  # a mounted app without routes (StaticFiles, ...)


def starlette_templates(
    routes: Iterable[Any], prefix: str = ""
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(template, methods) of every HTTP route, for pre-creating series."""
    for route in routes:
        sub = getattr(route, "routes", None)
        path = getattr(route, "path", "")
        if sub is not None:
            yield from starlette_templates(sub, prefix + path)
            continue
        methods = getattr(route, "methods", None)
        if methods:  # websocket routes have none
            yield prefix + path, tuple(sorted(methods))


class WerkzeugRoutes:
    """Flask/werkzeug ``url_map`` rules (``/reservations/<int:id>``)."""

    def __init__(self, url_map: Any, maxsize: int = DEFAULT_CACHE) -> None:
        self._map = url_map
        self._cached = functools.lru_cache(maxsize=maxsize)(self._resolve)

    def __call__(self, environ: Mapping[str, Any]) -> str | None:
        return self._cached(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""))

    def _resolve(self, method: str, path: str) -> str | None:
        adapter = self._map.bind("localhost")
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except Exception as exc:  # NotFound, RequestRedirect, MethodNotAllowed
            valid = getattr(exc, "valid_methods", None)
            if not valid:
                return None
            try:
                rule, _ = adapter.match(path, method=next(iter(valid)), return_rule=True)
            except Exception:
                return None
        return str(rule.rule)


def werkzeug_templates(url_map: Any) -> Iterator[tuple[str, tuple[str, ...]]]:
    for rule in url_map.iter_rules():
        yield str(rule.rule), tuple(sorted(rule.methods or ()))


_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-z]+))?\}")


class TemplateMatcher:
    """A user-supplied route list for plain ASGI/WSGI apps: ``{id}`` matches one segment,
    ``{rest:path}`` any remainder. The first matching template wins."""

    def __init__(self, templates: Iterable[str], maxsize: int = DEFAULT_CACHE) -> None:
        self.templates = tuple(templates)
        self._compiled = [(re.compile(self._regex(t)), t) for t in self.templates]
        self._cached = functools.lru_cache(maxsize=maxsize)(self._resolve)

    @staticmethod
    def _regex(template: str) -> str:
        out, pos = [], 0
        for m in _PARAM.finditer(template):
            out.append(re.escape(template[pos:m.start()]))
            out.append(".*" if m.group(2) == "path" else "[^/]+")
            pos = m.end()
        out.append(re.escape(template[pos:]))
        return "".join(out)

    def __call__(self, scope: Mapping[str, Any]) -> str | None:
        path = scope.get("path")
        if path is None:
            path = scope.get("PATH_INFO", "")
        return self._cached(path)

    def _resolve(self, path: str) -> str | None:
        for regex, template in self._compiled:
            if regex.fullmatch(path):
                return template
        return None
