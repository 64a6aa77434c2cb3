// Herald's status page: live updates over server-sent events and search as you type.
// The server renders every table; this script only fetches the same URL's fragment
// (`fragment=1`) and puts it in place. It never builds HTML from data: values reach the
// page escaped by the server, and status texts are set with textContent.
(function () {
  "use strict";

  var content = document.getElementById("content");
  if (!content) return;
  var banner = document.getElementById("banner");
  var live = document.getElementById("live");
  var shown = content.dataset.revision;
  var loading = false;
  var again = false;
  var lastAnnounced = 0;

  function fragmentUrl() {
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    return url;
  }

  // Replaces the results (or the whole content) with the fetched one; the search form
  // and the focus stay where they are.
  function swap(next) {
    var target = document.getElementById("results");
    var source = next.querySelector("#results");
    if (!target || !source) {
      target = content;
      source = next;
    }
    var active = document.activeElement;
    var focusId = active && target.contains(active) ? active.id : "";
    target.replaceChildren.apply(target, Array.prototype.slice.call(source.childNodes));
    content.dataset.revision = next.dataset.revision;
    if (focusId) {
      var again = document.getElementById(focusId);
      if (again) again.focus();
    }
  }

  function refresh() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    fetch(fragmentUrl(), { headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (text === null) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        var next = doc.getElementById("content");
        if (next) swap(next);
      })
      .catch(function () {
        // The next event tries again.
      })
      .then(function () {
        loading = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function announce(text) {
    var now = Date.now();
    if (!live || now - lastAnnounced < 10000) return;
    lastAnnounced = now;
    live.textContent = text;
  }

  function onStatus(data) {
    Object.keys(data.fields).forEach(function (key) {
      var field = document.querySelector('[data-field="' + key + '"]');
      if (field && field.textContent !== data.fields[key]) field.textContent = data.fields[key];
    });
    if (banner) {
      banner.hidden = !data.banner;
      banner.textContent = data.banner || "";
    }
    if (data.revision !== shown) {
      shown = data.revision;
      refresh();
      announce("The registry changed; the page is up to date.");
    }
  }

  if (window.EventSource) {
    var events = new EventSource("/ui/events");
    events.addEventListener("status", function (event) {
      try {
        onStatus(JSON.parse(event.data));
      } catch (e) {
        // A malformed event is ignored; the next one comes within a second.
      }
    });
    events.addEventListener("error", function () {
      if (!banner) return;
      banner.hidden = false;
      banner.textContent = "This page lost its connection to herald-dns; retrying.";
    });
  }

  // Search as you type: the form's query becomes the URL (a deep link), then the results
  // are fetched. Without the script the form submits as usual.
  var form = document.querySelector("form.search[role=search]");
  if (form) {
    var timer = 0;
    var update = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var params = new URLSearchParams(new FormData(form));
        Array.from(params.keys()).forEach(function (key) {
          if (!params.get(key)) params.delete(key);
        });
        var query = params.toString();
        window.history.replaceState(null, "", form.getAttribute("action") + (query ? "?" + query : ""));
        refresh();
      }, 200);
    };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
  }
})();
