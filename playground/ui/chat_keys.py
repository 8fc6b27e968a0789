"""The chat input's keys as in every chat app: Enter sends, Shift+Enter inserts a new line.

Gradio's multi-line textbox does the opposite (Shift+Enter submits). A capture-phase listener on the document sees
the key before Gradio's own keypress handler: Enter (not while an input method composes text) clicks Send;
Shift+Enter is kept from Gradio so the browser inserts the new line. Given to `launch(head=...)`.
"""

from __future__ import annotations

CHAT_KEYS_HEAD = """
<script>
(() => {
  const chatEnter = (event) => event.key === "Enter" && !event.isComposing && event.keyCode !== 229
    && event.target instanceof HTMLTextAreaElement && event.target.closest("#chat-input");
  document.addEventListener("keydown", (event) => {
    if (!chatEnter(event)) return;
    event.stopPropagation();
    if (event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;  // the browser adds the line
    event.preventDefault();
    document.querySelector("#send")?.click();
  }, true);
  // Gradio submits on Shift+Enter in its keypress handler: it never sees the key, the browser adds the line
  document.addEventListener("keypress", (event) => { if (chatEnter(event)) event.stopPropagation(); }, true);
})();
</script>
"""
