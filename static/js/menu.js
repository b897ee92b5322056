// Grouped main menu: one group open at a time, closed by Escape or a click elsewhere.
// Without JavaScript each group still opens and closes on its own (<details>).
(function () {
  const groups = Array.from(document.querySelectorAll(".nav-group details"));
  groups.forEach((group) => {
    group.addEventListener("toggle", () => {
      if (group.open) groups.forEach((other) => { if (other !== group) other.open = false; });
    });
  });
  document.addEventListener("click", (event) => {
    groups.forEach((group) => { if (group.open && !group.contains(event.target)) group.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    groups.forEach((group) => {
      if (group.open) { group.open = false; group.querySelector("summary").focus(); }
    });
  });
})();
