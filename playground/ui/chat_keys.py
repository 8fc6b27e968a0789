"""The chat input's keys as in every chat app: Enter sends, Shift+Enter inserts a new line.

Gradio's multi-line textbox does the opposite (Shift+Enter submits). A capture-phase listener on the document sees
the key before Gradio's own handler on the textarea: Enter (not while an input method composes text) clicks Send;
Shift+Enter is kept from Gradio so the browser inserts the new line. Given to `launch(head=...)`.
"""

from __future__ import annotations

CHAT_KEYS_HEAD = """
<script>
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.isComposing || event.keyCode === 229) return;
  const box = event.target;
  if (!(box instanceof HTMLTextAreaElement) || !box.closest("#chat-input")) return;
  event.stopPropagation();
  if (event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;  // the browser adds the new line
  event.preventDefault();
  document.querySelector("#send")?.click();
}, true);
</script>
"""
