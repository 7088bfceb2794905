// A small search over every lesson's prose and code: each word typed must appear in a section.
(function () {
  "use strict";
  var box = document.getElementById("course-search");
  var list = document.getElementById("course-results");
  if (!box || !list || !window.COURSE_SEARCH) { return; }
  function snippet(text, word) {
    var at = text.toLowerCase().indexOf(word);
    var start = Math.max(0, at - 60);
    return (start > 0 ? "… " : "") + text.slice(start, start + 180) + " …";
  }
  function show() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    list.innerHTML = "";
    if (!words.length) { return; }
    var hits = window.COURSE_SEARCH.filter(function (entry) {
      var text = (entry.heading + " " + entry.text).toLowerCase();
      return words.every(function (word) { return text.indexOf(word) >= 0; });
    }).slice(0, 25);
    hits.forEach(function (entry) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = entry.page;
      link.textContent = entry.lesson + " — " + entry.heading;
      var text = document.createElement("p");
      text.textContent = snippet(entry.text, words[0]);
      item.appendChild(link);
      item.appendChild(text);
      list.appendChild(item);
    });
    if (!hits.length) {
      var none = document.createElement("li");
      none.textContent = document.documentElement.lang.indexOf("zh") === 0
        ? "没有哪一节同时提到：" + words.join("、")
        : "No section mentions all of: " + words.join(", ");
      list.appendChild(none);
    }
  }
  box.addEventListener("input", show);
})();
