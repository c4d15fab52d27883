// A filter that takes several values (module=sales,crm): a button that shows
// the choice and opens a list of checkboxes. Keyboard: Enter/Space opens,
// Escape closes, Tab moves through the boxes.

import { clear, el } from "./dom.js";

export class MultiSelect {
  constructor(root, onChange) {
    this.root = root;
    this.name = root.dataset.name;
    this.onChange = onChange;
    this.values = [];
    this.options = [];
    this.button = el("button", "ms-button", "all");
    this.button.type = "button";
    this.button.id = `${root.id}-button`;
    this.button.setAttribute("aria-haspopup", "true");
    this.button.setAttribute("aria-expanded", "false");
    if (root.dataset.labelledby) this.button.setAttribute("aria-labelledby", `${root.dataset.labelledby} ${this.button.id}`);
    this.menu = el("div", "ms-menu");
    this.menu.hidden = true;
    this.menu.setAttribute("role", "group");
    root.append(this.button, this.menu);
    this.button.addEventListener("click", () => this.toggle());
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.menu.hidden) {
        event.preventDefault();
        this.close();
        this.button.focus();
      }
    });
    document.addEventListener("pointerdown", (event) => {
      if (!root.contains(event.target)) this.close();
    });
  }

  /** Adds the options not there yet (values seen in the trail join the standard ones). */
  addOptions(values) {
    let added = false;
    for (const value of values) {
      if (!value || this.options.includes(value)) continue;
      this.options.push(value);
      added = true;
    }
    if (added) this.render();
  }

  set(values) {
    this.values = [...values];
    this.addOptions(values);
    this.render();
  }

  toggle() {
    if (this.menu.hidden) this.open();
    else this.close();
  }

  open() {
    this.menu.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.menu.querySelector("input")?.focus();
  }

  close() {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  render() {
    const chosen = new Set(this.values.map((value) => value.toLowerCase()));
    this.button.textContent = this.values.length === 0 ? "all" : this.values.join(", ");
    this.button.title = this.values.length === 0 ? `every ${this.name}` : this.values.join(", ");
    this.button.classList.toggle("is-set", this.values.length > 0);
    clear(this.menu);
    for (const value of this.options) {
      const label = el("label", "ms-option");
      const box = el("input");
      box.type = "checkbox";
      box.value = value;
      box.checked = chosen.has(value.toLowerCase());
      box.addEventListener("change", () => {
        const next = this.options.filter((option) =>
          option === value ? box.checked : this.values.some((v) => v.toLowerCase() === option.toLowerCase()),
        );
        this.values = next;
        this.button.textContent = next.length === 0 ? "all" : next.join(", ");
        this.button.classList.toggle("is-set", next.length > 0);
        this.onChange(this.name, next);
      });
      label.append(box, el("span", null, value));
      this.menu.appendChild(label);
    }
    if (this.values.length > 0) {
      const none = el("button", "btn btn-link ms-none", "any");
      none.type = "button";
      none.addEventListener("click", () => {
        this.values = [];
        this.render();
        this.onChange(this.name, []);
      });
      this.menu.appendChild(none);
    }
  }
}
