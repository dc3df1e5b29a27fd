"""The copy-paste HTML for a form (``leadhub forms snippet FORM``).

Plain HTML that works without JavaScript: labelled inputs for the declared fields and the
honeypot hidden from people (off-screen, ``aria-hidden``, not focusable) but visible to bots.
"""

from __future__ import annotations

from html import escape
from types import MappingProxyType

from connectors.webform.connector import FormSettings

_INPUT_TYPES = MappingProxyType({"email": "email", "phone": "tel", "website": "url"})
_LABELS = MappingProxyType({"email": "Work e-mail", "name": "Your name", "first_name": "First name",
                            "last_name": "Last name", "company": "Company", "website": "Company website",
                            "phone": "Phone", "country": "Country", "message": "How can we help?",
                            "product": "Product"})


def snippet(form_id: str, form: FormSettings, base_url: str) -> str:
    action = f"{base_url.rstrip('/')}/forms/{form_id}"
    lines = [f'<form action="{escape(action)}" method="post" accept-charset="utf-8">']
    for name in form.fields:
        label = _LABELS.get(name, name.replace("_", " ").capitalize())
        required = name in form.required
        attrs = f'id="lh-{escape(name)}" name="{escape(name)}"' + (" required" if required else "")
        lines.append(f'  <label for="lh-{escape(name)}">{escape(label)}{" *" if required else ""}</label>')
        if name == "message":
            lines.append(f"  <textarea {attrs} maxlength=\"{form.max_field_length}\"></textarea>")
        else:
            kind = _INPUT_TYPES.get(name, "text")
            lines.append(f'  <input type="{kind}" {attrs} maxlength="{form.max_field_length}">')
    hp = escape(form.honeypot)
    lines.append(f'  <div style="position:absolute;left:-10000px" aria-hidden="true">'
                 f'<label for="lh-{hp}">Leave this empty</label>'
                 f'<input type="text" id="lh-{hp}" name="{hp}" tabindex="-1" autocomplete="off"></div>')
    lines.append(f"  <button type=\"submit\">{escape(form.title)}</button>")
    lines.append("</form>")
    return "\n".join(lines) + "\n"
