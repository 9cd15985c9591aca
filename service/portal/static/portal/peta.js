/* The dashboards' village map: the points inlined in the page (#data-peta), coloured by IDM status, over the
   region's outline; a tile layer only when the deployment configured one (data-ubin). Leaflet is vendored. */
(function () {
  "use strict";
  function mulai() {
    var wadah = document.getElementById("peta");
    var sumber = document.getElementById("data-peta");
    if (!wadah || !sumber || typeof L === "undefined") return;
    var data = JSON.parse(sumber.textContent);
    var peta = L.map(wadah, { scrollWheelZoom: false, zoomSnap: 0.5 });
    var ubin = wadah.getAttribute("data-ubin");
    if (ubin) {
      L.tileLayer(ubin, { maxZoom: 18, attribution: wadah.getAttribute("data-atribusi") || "" }).addTo(peta);
    }
    var batas = [];
    function garis(doc, perkiraan) {
      return L.geoJSON(doc, {
        interactive: false,
        filter: function (fitur) { return fitur.geometry && fitur.geometry.type !== "Point"; },
        style: { color: "#52525b", weight: perkiraan ? 1.5 : 1, fillColor: "#ffffff", fillOpacity: ubin ? 0.1 : 0.7,
                 dashArray: perkiraan ? "4 4" : null }
      }).addTo(peta);
    }
    if (data.garis_luar) batas.push(garis(data.garis_luar, true).getBounds());
    var titik = L.geoJSON(data.titik, {
      pointToLayer: function (fitur, latlng) {
        var p = fitur.properties;
        return L.circleMarker(latlng, { radius: 7, color: "#ffffff", weight: 1.5, fillColor: p.warna,
                                        fillOpacity: 0.95 });
      },
      onEachFeature: function (fitur, layer) {
        var p = fitur.properties;
        var teks = document.createElement("div");
        var judul = document.createElement("strong");
        judul.textContent = p.nama;
        teks.appendChild(judul);
        var baris = [
          "Kecamatan " + p.kecamatan,
          "Status IDM: " + p.status_label + (p.tahun ? " (" + p.tahun + ", " + String(p.nilai).replace(".", ",") + ")" : ""),
          "Penduduk: " + (p.penduduk === null ? "—" : p.penduduk.toLocaleString("id-ID"))
        ];
        baris.forEach(function (isi) {
          teks.appendChild(document.createElement("br"));
          teks.appendChild(document.createTextNode(isi));
        });
        layer.bindPopup(teks);
        layer.bindTooltip(p.nama + ": " + p.status_label);
      }
    }).addTo(peta);
    if (data.titik.features.length) batas.push(titik.getBounds());
    if (batas.length) {
      var semua = batas[0];
      batas.slice(1).forEach(function (b) { semua = semua.extend(b); });
      peta.fitBounds(semua, { padding: [12, 12] });
    } else {
      peta.setView([-2.5, 118], 4);  // Indonesia, when no village has a point yet
    }
    wadah.setAttribute("data-siap", String(data.titik.features.length));
    if (data.batas_url) {  // imported boundaries: fetched after the points are shown (they can be large)
      fetch(data.batas_url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (jawab) { if (!jawab.ok) throw new Error(jawab.status); return jawab.json(); })
        .then(function (doc) {
          var lapis = garis(doc, false);
          titik.bringToFront();
          if (lapis.getLayers().length) peta.fitBounds(lapis.getBounds().extend(titik.getBounds()), { padding: [12, 12] });
          wadah.setAttribute("data-batas", String(lapis.getLayers().length));
        })
        .catch(function () { wadah.setAttribute("data-batas", "galat"); });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mulai);
  else mulai();
})();
