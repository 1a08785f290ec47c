// The portal playground: POST /v1/chat/completions with stream=true and show each delta as it arrives.
(function () {
  var form = document.getElementById("playground");
  var output = document.getElementById("pg-output");
  var status = document.getElementById("pg-status");
  var keyInput = document.getElementById("pg-key");
  // The key this tab used last, unless one was typed (or pasted) before this script ran.
  if (!keyInput.value) { keyInput.value = sessionStorage.getItem("tollgate-playground-key") || ""; }

  function showDeltas(text) {
    text.split("\n").forEach(function (line) {
      if (line.indexOf("data: ") !== 0 || line === "data: [DONE]") { return; }
      var chunk = JSON.parse(line.slice(6));
      if (chunk.error) { throw new Error(chunk.error.message); }
      var choice = chunk.choices && chunk.choices[0];
      if (choice && choice.delta && choice.delta.content) { output.textContent += choice.delta.content; }
    });
  }

  async function send(event) {
    event.preventDefault();
    sessionStorage.setItem("tollgate-playground-key", keyInput.value);
    output.textContent = ""; status.textContent = "Streaming...";
    var started = performance.now();
    var response = await fetch(window.TOLLGATE_API, {
      method: "POST", credentials: "omit",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + keyInput.value},
      body: JSON.stringify({model: form.elements.model.value, stream: true,
                            messages: [{role: "user", content: form.elements.prompt.value}]})});
    if (!response.ok) {
      var body = await response.json();
      status.textContent = "Error " + response.status + ": " + body.error.message; return;
    }
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
    for (;;) {
      var part = await reader.read();
      if (part.done) { break; }
      buffer += decoder.decode(part.value, {stream: true});
      var end = buffer.lastIndexOf("\n\n");
      if (end >= 0) { showDeltas(buffer.slice(0, end)); buffer = buffer.slice(end + 2); }
    }
    showDeltas(buffer);
    status.textContent = "Done in " + Math.round(performance.now() - started) + " ms (request " +
      (response.headers.get("x-request-id") || "?") + ")";
  }
  form.addEventListener("submit", function (event) {
    send(event).catch(function (error) { status.textContent = "Error: " + error.message; });
  });
})();
