"""A headless ``tkinter`` for notebooks that end with a small GUI demo.

Students run these on their own machine: ``Tk()`` opens a window, the last
cell's ``mainloop()`` waits for clicks. The grading machine has no display
(``TclError: no display name and no $DISPLAY``) and nobody to click. The
stand-in builds every widget as an inert object -- options and variables keep
their values, geometry calls do nothing -- and ``mainloop()`` returns at once,
so the run goes on and the model trained before the demo is graded. Only used
when there is no display; the first window is noted as an adaptation.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from types import ModuleType
from typing import Any

from labgrade_runtime.kernel.state import note

_WIDGETS = (
    "Tk",
    "Toplevel",
    "Frame",
    "Label",
    "Button",
    "Entry",
    "Text",
    "Canvas",
    "Scale",
    "Checkbutton",
    "Radiobutton",
    "Listbox",
    "Scrollbar",
    "Menu",
    "Menubutton",
    "Message",
    "Spinbox",
    "LabelFrame",
    "PanedWindow",
    "OptionMenu",
    "PhotoImage",
    "BitmapImage",
    "Combobox",
    "Progressbar",
    "Notebook",
    "Treeview",
    "Separator",
    "Labelframe",
    "Panedwindow",
    "Style",
    "Font",
)
_SUBMODULES = ("ttk", "messagebox", "filedialog", "simpledialog", "font", "constants", "scrolledtext", "colorchooser")


def headless() -> bool:
    """True when no display is available (the grading sandbox)."""
    return not os.environ.get("DISPLAY") and os.name != "nt"


class TclError(Exception):
    """tkinter.TclError, for the students' own ``except`` clauses."""


class _Inert:
    """Any widget, image or style: keeps its options, answers every other call with another inert object."""

    def __init__(self, *args: Any, **options: Any) -> None:
        self._options: dict[str, Any] = dict(options)
        if type(self).__name__ in ("Tk", "Toplevel"):
            note(
                "headless",
                f"tkinter.{type(self).__name__}() window built but not shown (no display in the grading "
                "sandbox); mainloop() returns at once",
            )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Inert()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _Inert()

    def configure(self, **options: Any) -> None:
        """Remember the options (``config``/``configure``)."""
        self._options.update(options)

    config = configure

    def cget(self, key: str) -> Any:
        """An option's value, as set."""
        return self._options.get(key, "")

    def __getitem__(self, key: str) -> Any:
        return self._options.get(key, "")

    def __setitem__(self, key: str, value: Any) -> None:
        self._options[key] = value

    def get(self, *args: Any) -> Any:
        """What an Entry/Text/Scale holds: nothing was typed."""
        return self._options.get("value", "")

    def mainloop(self, n: int = 0) -> None:
        """Returns at once: nobody can click in a headless run."""
        note("headless", "tkinter mainloop() returned at once (non-interactive run)")

    def __bool__(self) -> bool:
        return True

    def __iter__(self) -> Any:
        return iter(())


class _Variable:
    """StringVar/IntVar/DoubleVar/BooleanVar: a value holder."""

    _default: Any = ""

    def __init__(self, master: Any = None, value: Any = None, name: str | None = None) -> None:
        self._value = self._default if value is None else value

    def get(self) -> Any:
        """The value set."""
        return self._value

    def set(self, value: Any) -> None:
        """Set the value."""
        self._value = value

    def trace_add(self, *args: Any) -> str:
        """No events ever fire."""
        return ""

    trace = trace_add


def _variable(name: str, default: Any) -> type:
    return type(name, (_Variable,), {"_default": default})


def _constants() -> dict[str, Any]:
    """The real ``tkinter.constants`` (pure Python, no Tcl needed), read from the standard library."""
    found = importlib.machinery.PathFinder.find_spec("tkinter")
    locations = list(found.submodule_search_locations or []) if found else []
    spec = importlib.machinery.PathFinder.find_spec("tkinter.constants", locations) if locations else None
    if spec is None or spec.loader is None:
        return {
            "END": "end",
            "LEFT": "left",
            "RIGHT": "right",
            "TOP": "top",
            "BOTTOM": "bottom",
            "BOTH": "both",
            "X": "x",
            "Y": "y",
            "W": "w",
            "E": "e",
            "N": "n",
            "S": "s",
            "CENTER": "center",
            "INSERT": "insert",
        }
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k: v for k, v in vars(module).items() if not k.startswith("_")}


def _answer(value: Any) -> Any:
    def dialog(*args: Any, **kwargs: Any) -> Any:
        note("headless", "a tkinter dialog was answered as if cancelled (non-interactive run)")
        return value

    return dialog


def build() -> dict[str, ModuleType]:
    """tkinter and its usual submodules, headless."""
    names: dict[str, Any] = {name: type(name, (_Inert,), {}) for name in _WIDGETS}
    names.update(_constants())
    names.update(
        {
            "TclError": TclError,
            "StringVar": _variable("StringVar", ""),
            "IntVar": _variable("IntVar", 0),
            "DoubleVar": _variable("DoubleVar", 0.0),
            "BooleanVar": _variable("BooleanVar", False),
            "Variable": _Variable,
            "mainloop": _Inert().mainloop,
            "TkVersion": 8.6,
            "TclVersion": 8.6,
        }
    )
    dialogs = {
        name: _answer(None)
        for name in (
            "showinfo",
            "showwarning",
            "showerror",
            "askquestion",
            "askokcancel",
            "askyesno",
            "askyesnocancel",
            "askretrycancel",
            "askstring",
            "askinteger",
            "askfloat",
            "askcolor",
        )
    }
    dialogs.update({name: _answer("") for name in ("askopenfilename", "asksaveasfilename", "askdirectory")})
    dialogs["askopenfilenames"] = _answer(())
    top = ModuleType("tkinter", "labgrade's headless stand-in for tkinter (no display in the grading sandbox)")
    top.__dict__.update(names)
    top.__path__ = []
    modules = {"tkinter": top}
    for sub in _SUBMODULES:
        module = ModuleType(f"tkinter.{sub}")
        module.__dict__.update(names if sub in ("ttk", "font", "constants", "scrolledtext") else {})
        module.__dict__.update(dialogs)
        if sub == "scrolledtext":
            module.__dict__["ScrolledText"] = type("ScrolledText", (_Inert,), {})
        setattr(top, sub, module)
        modules[f"tkinter.{sub}"] = module
    return modules
