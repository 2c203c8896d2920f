"""ipywidgets on the website, drawn in HTML from their saved state: no JavaScript, no CDN.

A widget in a notebook output is only a reference, {"model_id": ...}, to a model that lives
in the kernel. When a notebook is executed by nbclient (what jupyter-cache, and so myst-nb's
"cache" execution, runs), nbclient keeps the last state of every widget model in the
notebook's metadata: metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"],
model_id -> {"model_name", "model_module", "state"}, the values after the last update the
kernel sent. So a tqdm bar is saved at its end (value = max, "100%", the final counts), and
an Output widget (what `interact` draws its plot into) with the outputs it held.

This module turns such a widget into static HTML, recursively through containers:

* HBox, VBox, Box, GridBox: their children side by side or stacked (`interact` is a VBox of
  its controls and an Output);
* FloatProgress, IntProgress: a bar filled to value/max, coloured by its bar_style (or its
  style's bar_color);
* HTML (its value is put in as HTML: in our lessons it is tqdm's text) and Label (text);
* FloatSlider, IntSlider, FloatLogSlider: a disabled <input type="range"> at the value and
  the readout; IntRangeSlider, FloatRangeSlider: a track with the selected span;
* Dropdown, Select, ToggleButtons, RadioButtons, Checkbox, ToggleButton, Button, Text,
  Textarea and the number boxes: disabled form controls showing the value;
* Output: its saved outputs (images as <img> with data: URIs, text as <pre>, HTML as is).

Every other text is escaped. A widget tree with a control in it gets a caption saying the
controls are live in JupyterLab; a progress bar does not. A widget whose model is missing, or
of a type not listed, becomes the note the site showed before ("An interactive widget is
here: open this notebook in JupyterLab ..."); an unknown widget inside a known container
becomes a short placeholder, the rest is drawn.

As a Sphinx extension (site/conf.py lists it), on doctree-read it takes the widget state that
myst-nb collected for the page (and would have written into it as a JSON <script>, for the
ipywidgets JavaScript we do not ship: removed, so the page does not carry it) and replaces
every application/vnd.jupyter.widget-view+json output with the HTML above. The styles are
site/_static/widgets.css.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Callable
from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NOTE = ("An interactive widget is here: open this notebook in JupyterLab "
        "(make lab, or Binder) to use it.")
CAPTION = ("The controls are shown at their saved values: they are live in JupyterLab "
           "(make lab, or Binder).")
_REF = "IPY_MODEL_"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CSS_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]+|(rgb|rgba|hsl|hsla)\([0-9.,%\s]+\))$")
_STYLES = ("primary", "success", "info", "warning", "danger")
_MAX_DEPTH = 50


def escape(value: Any) -> str:
    """Text (any value, via str) safe in HTML content and in a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _number(value: Any, default: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _readout(value: Any, spec: str | None) -> str:
    """`value` formatted like the widget's readout_format (a d3-format spec; most of those
    that widgets use, .2f .3g d .1e, mean the same in Python), else plainly."""
    if isinstance(value, float) and value.is_integer() and spec == "d":
        value = int(value)
    try:
        return format(value, spec or "")
    except (TypeError, ValueError):
        return f"{value:g}" if isinstance(value, float) else str(value)


def _plain(number: float) -> str:
    """A number for an attribute: 3 for 3.0, 0.1, 1e-05, -2 for -1.9999999999999996."""
    return f"{number:.12g}"


def _text(value: Any) -> str:
    """An nbformat multi-line string (a list of lines or a str) as one str."""
    return "".join(value) if isinstance(value, list) else str(value)


class _Page:
    """The HTML of one widget output, from the saved state of the notebook's models."""

    def __init__(self, models: dict[str, Any]) -> None:
        self.models = models
        self.interactive = False  # a control (slider, button, ...) was drawn
        self._drawing: set[str] = set()  # the models being drawn, outermost first
        self.renderers: dict[str, Callable[[str, dict[str, Any], int], str]] = {
            "HBoxModel": self._box, "VBoxModel": self._box, "BoxModel": self._box,
            "GridBoxModel": self._box,
            "FloatProgressModel": self._progress, "IntProgressModel": self._progress,
            "HTMLModel": self._html, "LabelModel": self._label,
            "FloatSliderModel": self._slider, "IntSliderModel": self._slider,
            "FloatLogSliderModel": self._slider,
            "IntRangeSliderModel": self._range, "FloatRangeSliderModel": self._range,
            "DropdownModel": self._dropdown, "SelectModel": self._dropdown,
            "ToggleButtonsModel": self._toggle_buttons, "RadioButtonsModel": self._radios,
            "CheckboxModel": self._checkbox, "ToggleButtonModel": self._button,
            "ButtonModel": self._button,
            "TextModel": self._text_box, "TextareaModel": self._text_box,
            "IntTextModel": self._text_box, "FloatTextModel": self._text_box,
            "BoundedIntTextModel": self._text_box, "BoundedFloatTextModel": self._text_box,
            "OutputModel": self._output,
        }

    # --- models -------------------------------------------------------------------------------

    def _model(self, ref: Any) -> tuple[str, dict[str, Any]] | None:
        """(model_name, state) of a model given by id or "IPY_MODEL_<id>"; None if not saved."""
        if not isinstance(ref, str):
            return None
        entry = self.models.get(ref.removeprefix(_REF))
        if not isinstance(entry, dict) or not isinstance(entry.get("state"), dict):
            return None
        state = entry["state"]
        return str(entry.get("model_name") or state.get("_model_name") or ""), state

    def can_render(self, model_id: str) -> bool:
        model = self._model(model_id)
        return model is not None and model[0] in self.renderers

    def render(self, ref: Any, depth: int = 0) -> str:
        """The HTML of one model; a placeholder for an unknown or missing one."""
        model = self._model(ref)
        key = ref.removeprefix(_REF) if isinstance(ref, str) else ""
        if (model is None or model[0] not in self.renderers or key in self._drawing
                or depth > _MAX_DEPTH):  # unknown, missing, or a box inside itself
            self.interactive = True  # what it was is live in JupyterLab only
            name = model[0].removesuffix("Model") if model else "widget"
            return f'<span class="nbw-unknown">({escape(name)}: live in JupyterLab)</span>'
        name, state = model
        if self._hidden(state):
            return ""
        self._drawing.add(key)
        try:
            return self.renderers[name](name, state, depth)
        finally:
            self._drawing.discard(key)

    def _hidden(self, state: dict[str, Any]) -> bool:
        layout = self._model(state.get("layout"))
        return layout is not None and layout[1].get("display") == "none"

    def _description(self, state: dict[str, Any]) -> str:
        text = state.get("description") or ""
        return f'<span class="nbw-label">{escape(text)}</span>' if text else ""

    @staticmethod
    def _style_class(value: Any) -> str:
        return f" nbw-style-{value}" if value in _STYLES else ""

    # --- containers -----------------------------------------------------------------------

    def _box(self, name: str, state: dict[str, Any], depth: int) -> str:
        kind = {"HBoxModel": "nbw-hbox", "VBoxModel": "nbw-vbox"}.get(name, "nbw-flexbox")
        classes = ["nbw-box", kind]
        if "widget-interact" in (state.get("_dom_classes") or ()):
            classes.append("nbw-interact")
        children = "".join(self.render(child, depth + 1) for child in state.get("children") or ())
        return f'<div class="{" ".join(classes)}">{children}</div>'

    # --- display ----------------------------------------------------------------------------

    def _progress(self, name: str, state: dict[str, Any], depth: int) -> str:
        low, high = _number(state.get("min")), _number(state.get("max"), 100.0)
        value = _number(state.get("value"))
        fraction = min(max((value - low) / (high - low), 0.0), 1.0) if high > low else 0.0
        style = self._style_class(state.get("bar_style"))
        fill = f"width: {100 * fraction:.4g}%"
        colour = self._model(state.get("style"))
        bar_color = colour[1].get("bar_color") if colour else None
        if isinstance(bar_color, str) and _CSS_COLOUR.match(bar_color.strip()):
            fill += f"; background-color: {bar_color.strip()}"
        return (f'<div class="nbw-widget nbw-progress-widget">{self._description(state)}'
                f'<div class="nbw-progress{style}" role="progressbar" '
                f'aria-valuemin="{_plain(low)}" aria-valuemax="{_plain(high)}" '
                f'aria-valuenow="{_plain(value)}" title="{_plain(value)} of {_plain(high)}">'
                f'<div class="nbw-progress-fill" style="{escape(fill)}"></div></div></div>')

    def _html(self, name: str, state: dict[str, Any], depth: int) -> str:
        # The value is HTML by definition (tqdm's text, in our lessons): not escaped.
        value = state.get("value") or ""
        return (f'<div class="nbw-widget nbw-html">{self._description(state)}'
                f'<span class="nbw-html-value">{value}</span></div>')

    def _label(self, name: str, state: dict[str, Any], depth: int) -> str:
        return (f'<div class="nbw-widget nbw-label-widget">{self._description(state)}'
                f'<span class="nbw-text">{escape(state.get("value") or "")}</span></div>')

    # --- controls ---------------------------------------------------------------------------

    def _control(self, classes: str, state: dict[str, Any], inner: str) -> str:
        self.interactive = True
        return f'<div class="nbw-widget {classes}">{self._description(state)}{inner}</div>'

    def _slider(self, name: str, state: dict[str, Any], depth: int) -> str:
        low, high = _number(state.get("min")), _number(state.get("max"), 100.0)
        value = _number(state.get("value"))
        position = value
        if name == "FloatLogSliderModel":  # min and max are exponents of base
            base = _number(state.get("base"), 10.0)
            valid = value > 0 and base > 0 and base != 1
            position = math.log(value, base) if valid else low
        readout = ""
        if state.get("readout", True):
            text = _readout(state.get("value"), state.get("readout_format"))
            readout = f'<span class="nbw-readout">{escape(text)}</span>'
        label = escape(state.get("description") or "slider")
        inner = (f'<input type="range" class="nbw-range" disabled min="{_plain(low)}" '
                 f'max="{_plain(high)}" step="any" value="{_plain(position)}" '
                 f'aria-label="{label}">{readout}')
        return self._control("nbw-slider", state, inner)

    def _range(self, name: str, state: dict[str, Any], depth: int) -> str:
        low, high = _number(state.get("min")), _number(state.get("max"), 100.0)
        pair = list(state.get("value") or ())
        if len(pair) < 2:
            pair = [low, high]
        start, end = sorted((_number(pair[0], low), _number(pair[1], high)))
        span = high - low
        left = min(max((start - low) / span, 0.0), 1.0) if span > 0 else 0.0
        right = min(max((end - low) / span, 0.0), 1.0) if span > 0 else 1.0
        spec = state.get("readout_format")
        text = f"{_readout(pair[0], spec)} – {_readout(pair[1], spec)}"
        readout = f'<span class="nbw-readout">{escape(text)}</span>' if state.get(
            "readout", True) else ""
        fill = f"left: {100 * left:.4g}%; width: {100 * (right - left):.4g}%"
        inner = (f'<span class="nbw-range-track" role="img" aria-label="{escape(text)}">'
                 f'<span class="nbw-range-fill" style="{fill}"></span></span>{readout}')
        return self._control("nbw-slider nbw-range-slider", state, inner)

    @staticmethod
    def _options(state: dict[str, Any]) -> tuple[list[str], int | None]:
        labels = [str(label) for label in state.get("_options_labels") or ()]
        index = state.get("index")
        return labels, index if isinstance(index, int) else None

    def _dropdown(self, name: str, state: dict[str, Any], depth: int) -> str:
        labels, index = self._options(state)
        options = "".join(f'<option{" selected" if i == index else ""}>{escape(label)}</option>'
                          for i, label in enumerate(labels))
        size = f' size="{min(len(labels), 5)}"' if name == "SelectModel" else ""
        label = escape(state.get("description") or "options")
        inner = f'<select class="nbw-select" disabled{size} aria-label="{label}">{options}</select>'
        return self._control("nbw-dropdown", state, inner)

    def _toggle_buttons(self, name: str, state: dict[str, Any], depth: int) -> str:
        labels, index = self._options(state)
        style = self._style_class(state.get("button_style"))
        buttons = "".join(
            f'<button type="button" class="nbw-button{style}'
            f'{" nbw-selected" if i == index else ""}" disabled '
            f'aria-pressed="{"true" if i == index else "false"}">{escape(label)}</button>'
            for i, label in enumerate(labels))
        return self._control("nbw-toggle-buttons", state,
                             f'<span class="nbw-buttons">{buttons}</span>')

    def _radios(self, name: str, state: dict[str, Any], depth: int) -> str:
        labels, index = self._options(state)
        radios = "".join(
            f'<label class="nbw-radio"><input type="radio" disabled'
            f'{" checked" if i == index else ""}> {escape(label)}</label>'
            for i, label in enumerate(labels))
        return self._control("nbw-radio-buttons", state,
                             f'<span class="nbw-radios">{radios}</span>')

    def _checkbox(self, name: str, state: dict[str, Any], depth: int) -> str:
        self.interactive = True
        checked = " checked" if state.get("value") else ""
        return (f'<div class="nbw-widget nbw-checkbox"><label><input type="checkbox" disabled'
                f'{checked}> {escape(state.get("description") or "")}</label></div>')

    def _button(self, name: str, state: dict[str, Any], depth: int) -> str:
        self.interactive = True
        style = self._style_class(state.get("button_style"))
        pressed = ""
        if name == "ToggleButtonModel":
            on = bool(state.get("value"))
            style += " nbw-selected" if on else ""
            pressed = f' aria-pressed="{"true" if on else "false"}"'
        text = state.get("description") or state.get("tooltip") or "button"
        return (f'<div class="nbw-widget"><button type="button" class="nbw-button{style}" '
                f'disabled{pressed}>{escape(text)}</button></div>')

    def _text_box(self, name: str, state: dict[str, Any], depth: int) -> str:
        value = state.get("value")
        value = "" if value is None else value
        label = escape(state.get("description") or "text")
        if name == "TextareaModel":
            rows = int(_number(state.get("rows"), 3))
            inner = (f'<textarea class="nbw-input" disabled rows="{rows}" '
                     f'aria-label="{label}">{escape(value)}</textarea>')
        else:
            inner = (f'<input type="text" class="nbw-input" disabled value="{escape(value)}" '
                     f'aria-label="{label}">')
        return self._control("nbw-text", state, inner)

    # --- the Output widget ----------------------------------------------------------------

    def _output(self, name: str, state: dict[str, Any], depth: int) -> str:
        parts = [self._one_output(output, depth) for output in state.get("outputs") or ()]
        return f'<div class="nbw-output-widget">{"".join(parts)}</div>'

    def _one_output(self, output: Any, depth: int) -> str:
        if not isinstance(output, dict):
            return ""
        kind = output.get("output_type")
        if kind == "stream":
            stream = "nbw-stderr" if output.get("name") == "stderr" else "nbw-stdout"
            text = _ANSI.sub("", _text(output.get("text", "")))
            return f'<pre class="nbw-stream {stream}">{escape(text)}</pre>'
        if kind == "error":
            text = _ANSI.sub("", "\n".join(output.get("traceback") or ()))
            return f'<pre class="nbw-error">{escape(text)}</pre>'
        if kind not in ("display_data", "execute_result"):
            return ""
        data = output.get("data") or {}
        metadata = output.get("metadata") or {}
        view = data.get(WIDGET_VIEW)
        if isinstance(view, dict) and view.get("model_id"):
            return self.render(view["model_id"], depth + 1)
        for mime in ("image/png", "image/jpeg", "image/gif", "image/svg+xml"):
            if mime in data:
                return self._image(mime, data[mime], metadata.get(mime) or {})
        if "text/html" in data:  # HTML output, put in as is (as myst-nb does for a cell's)
            return f'<div class="nbw-rich">{_text(data["text/html"])}</div>'
        if "text/plain" in data:
            text = _ANSI.sub("", _text(data["text/plain"]))
            return f'<pre class="nbw-text-output">{escape(text)}</pre>'
        return ""

    @staticmethod
    def _image(mime: str, data: Any, metadata: dict[str, Any]) -> str:
        if mime == "image/svg+xml":
            payload = base64.b64encode(_text(data).encode("utf-8")).decode("ascii")
        else:  # nbformat keeps binary images base64-encoded already
            payload = re.sub(r"\s+", "", _text(data))
        size = "".join(f' {key}="{int(_number(metadata[key]))}"'
                       for key in ("width", "height")
                       if isinstance(metadata, dict) and _number(metadata.get(key)) > 0)
        return (f'<img class="nbw-image" src="data:{mime};base64,{payload}"{size} '
                'alt="output of the widget">')


def render_view(model_id: str, models: dict[str, Any]) -> str | None:
    """The HTML of the widget output `model_id` (with the caption when it has controls), or
    None when it cannot be drawn (no saved state, or a model type this module does not know)."""
    page = _Page(models or {})
    if not page.can_render(model_id):
        return None
    body = page.render(model_id)
    caption = f'<p class="nbw-caption">{escape(CAPTION)}</p>' if page.interactive else ""
    return f'<div class="nbw-static">{body}{caption}</div>'


def view_model_id(raw: str) -> str | None:
    """The model_id in myst-nb's rendering of a widget-view output:
    <script type="application/vnd.jupyter.widget-view+json">{...}</script>."""
    match = re.search(r"<script[^>]*>(.*)</script>", raw, re.S)
    try:
        data = json.loads(match[1] if match else raw)
    except ValueError:
        return None
    model_id = data.get("model_id") if isinstance(data, dict) else None
    return model_id if isinstance(model_id, str) else None


def saved_models(state_json: str | None) -> dict[str, Any]:
    """model_id -> model, from the JSON of metadata.widgets[WIDGET_STATE]."""
    try:
        saved = json.loads(state_json) if state_json else {}
    except ValueError:
        return {}
    models = saved.get("state") if isinstance(saved, dict) else None
    return models if isinstance(models, dict) else {}


# --- Sphinx ------------------------------------------------------------------------------------


def _note():
    from docutils import nodes

    note = nodes.paragraph(classes=["widget-note"])
    note += nodes.emphasis(text=NOTE)
    return note


def draw_widgets(app, doctree) -> None:
    """doctree-read: each widget-view output of the page becomes its static HTML (or the
    note), and the widget state myst-nb collected is taken off the page's scripts."""
    from docutils import nodes
    from myst_nb.sphinx_ import NbMetadataCollector

    # myst-nb stores the notebook's widget state as an inline <script> for the page
    # (render_nb_finalise: key "ipywidgets_state"); we draw from it instead of shipping it.
    scripts = NbMetadataCollector.get_js_files(app.env, app.env.docname)
    saved = scripts.pop("ipywidgets_state", None)
    models = saved_models(saved[1].get("body") if saved else None)
    for container in list(doctree.findall(nodes.container)):
        if container.get("mime_type") != WIDGET_VIEW:
            continue
        model_id = view_model_id(container.astext())
        drawn = render_view(model_id, models) if model_id else None
        container.clear()
        container += nodes.raw("", drawn, format="html") if drawn is not None else _note()


def setup(app) -> dict[str, Any]:
    app.setup_extension("myst_nb")
    app.connect("doctree-read", draw_widgets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
