import { describe, expect, it } from 'vitest';
import {
  areaContains,
  boundingBox,
  boxContains,
  cameraCovers,
  circleContains,
  destinationPoint,
  distanceM,
  distanceToAreaM,
  distanceToPolygonEdgeM,
  enclosingCircle,
  initialBearingDeg,
  polygonContains,
  type Area,
} from '../../protocol/geofence.js';
import { polygonProblem } from '../../protocol/incident.js';
import type { LatLon } from '../../protocol/schemas/common.js';

/**
 * Vincenty's inverse formula on the WGS 84 ellipsoid (Survey Review XXIII/176, 1975): an
 * independent reference for the sphere. Checked below against the published geodesic
 * Flinders Peak - Buninyong, 54,972.271 m (Geoscience Australia / Vincenty's example).
 */
function vincentyM(p: LatLon, q: LatLon): number {
  const a = 6378137;
  const f = 1 / 298.257223563;
  const b = a * (1 - f);
  const r = Math.PI / 180;
  const L = (q.lon - p.lon) * r;
  const U1 = Math.atan((1 - f) * Math.tan(p.lat * r));
  const U2 = Math.atan((1 - f) * Math.tan(q.lat * r));
  const [sU1, cU1, sU2, cU2] = [Math.sin(U1), Math.cos(U1), Math.sin(U2), Math.cos(U2)];
  let lambda = L;
  let sinS = 0;
  let cosS = 0;
  let sigma = 0;
  let cos2A = 0;
  let cos2Sm = 0;
  for (let i = 0; i < 200; i++) {
    const sl = Math.sin(lambda);
    const cl = Math.cos(lambda);
    sinS = Math.hypot(cU2 * sl, cU1 * sU2 - sU1 * cU2 * cl);
    cosS = sU1 * sU2 + cU1 * cU2 * cl;
    sigma = Math.atan2(sinS, cosS);
    const sinA = (cU1 * cU2 * sl) / sinS;
    cos2A = 1 - sinA * sinA;
    cos2Sm = cosS - (2 * sU1 * sU2) / cos2A;
    const C = (f / 16) * cos2A * (4 + f * (4 - 3 * cos2A));
    const prev = lambda;
    lambda = L + (1 - C) * f * sinA * (sigma + C * sinS * (cos2Sm + C * cosS * (-1 + 2 * cos2Sm ** 2)));
    if (Math.abs(lambda - prev) < 1e-12) break;
  }
  const u2 = (cos2A * (a * a - b * b)) / (b * b);
  const A = 1 + (u2 / 16384) * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
  const B = (u2 / 1024) * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
  const dS =
    B *
    sinS *
    (cos2Sm +
      (B / 4) *
        (cosS * (-1 + 2 * cos2Sm ** 2) - (B / 6) * cos2Sm * (-3 + 4 * sinS ** 2) * (-3 + 4 * cos2Sm ** 2)));
  return b * A * (sigma - dS);
}

// Washington, DC landmarks (WGS 84, 4 decimals ≈ 10 m).
const WHITE_HOUSE = { lat: 38.8977, lon: -77.0365 };
const CAPITOL = { lat: 38.8899, lon: -77.0091 };
const LINCOLN_MEMORIAL = { lat: 38.8893, lon: -77.0502 };
const WASHINGTON_MONUMENT = { lat: 38.8895, lon: -77.0353 };
const JEFFERSON_MEMORIAL = { lat: 38.8814, lon: -77.0365 };
const WWII_MEMORIAL = { lat: 38.8894, lon: -77.0405 };
const SMITHSONIAN_CASTLE = { lat: 38.8888, lon: -77.026 };

describe('great-circle distance at real Washington, DC coordinates', () => {
  it('the Vincenty reference reproduces the published Flinders Peak - Buninyong geodesic', () => {
    const flinders = { lat: -(37 + 57 / 60 + 3.7203 / 3600), lon: 144 + 25 / 60 + 29.5244 / 3600 };
    const buninyong = { lat: -(37 + 39 / 60 + 10.1561 / 3600), lon: 143 + 55 / 60 + 35.3839 / 3600 };
    expect(vincentyM(flinders, buninyong)).toBeCloseTo(54_972.271, 2);
  });

  it('White House to the US Capitol is ≈ 2.52 km (Vincenty 2,529.9 m; sphere within 0.5%)', () => {
    const d = distanceM(WHITE_HOUSE, CAPITOL);
    const v = vincentyM(WHITE_HOUSE, CAPITOL);
    expect(v).toBeCloseTo(2529.9, 1); // the ellipsoidal reference
    expect(Math.abs(d - v) / v).toBeLessThan(0.005); // the sphere: within 0.5% (it is 0.2%, 2,525.0 m)
    expect(Math.abs(d - 2520)).toBeLessThan(15); // "≈ 2.52 km"
  });

  it('Lincoln Memorial to the Washington Monument is ≈ 1.29 km (≈ 0.8 mi, as published)', () => {
    const d = distanceM(LINCOLN_MEMORIAL, WASHINGTON_MONUMENT);
    expect(d).toBeGreaterThan(1280);
    expect(d).toBeLessThan(1300);
    expect(Math.abs(d - vincentyM(LINCOLN_MEMORIAL, WASHINGTON_MONUMENT)) / d).toBeLessThan(0.005);
  });

  it('stays within 0.5% of the ellipsoid on every landmark pair', () => {
    const all = [
      WHITE_HOUSE,
      CAPITOL,
      LINCOLN_MEMORIAL,
      WASHINGTON_MONUMENT,
      JEFFERSON_MEMORIAL,
      SMITHSONIAN_CASTLE,
    ];
    for (const p of all) {
      for (const q of all) {
        if (p === q) continue;
        const v = vincentyM(p, q);
        expect(Math.abs(distanceM(p, q) - v) / v).toBeLessThan(0.005);
      }
    }
  });

  it('is symmetric and zero at the same point', () => {
    expect(distanceM(CAPITOL, WHITE_HOUSE)).toBeCloseTo(distanceM(WHITE_HOUSE, CAPITOL), 9);
    expect(distanceM(CAPITOL, CAPITOL)).toBe(0);
  });

  it('bearings match a flat-map estimate: Capitol ESE of the White House, Monument east of Lincoln', () => {
    // Flat estimate atan2(east, north) with 1° lat = 111.2 km, 1° lon = 111.2·cos(38.89°) km.
    const flat = (p: LatLon, q: LatLon) => {
      const east = (q.lon - p.lon) * Math.cos((38.89 * Math.PI) / 180);
      return ((Math.atan2(east, q.lat - p.lat) * 180) / Math.PI + 360) % 360;
    };
    for (const [p, q, about] of [
      [WHITE_HOUSE, CAPITOL, 110.1],
      [LINCOLN_MEMORIAL, WASHINGTON_MONUMENT, 89.0],
      [WASHINGTON_MONUMENT, JEFFERSON_MEMORIAL, 186.6],
    ] as const) {
      expect(Math.abs(initialBearingDeg(p, q) - about)).toBeLessThan(0.1);
      expect(Math.abs(initialBearingDeg(p, q) - flat(p, q))).toBeLessThan(0.1);
    }
  });

  it('destinationPoint inverts distance and bearing', () => {
    for (const bearing of [0, 45, 90, 135, 180, 270, 359]) {
      const p = destinationPoint(WASHINGTON_MONUMENT, bearing, 800);
      expect(distanceM(WASHINGTON_MONUMENT, p)).toBeCloseTo(800, 6);
      expect(initialBearingDeg(WASHINGTON_MONUMENT, p)).toBeCloseTo(bearing, 6);
    }
  });

  it('handles the antimeridian', () => {
    expect(distanceM({ lat: 0, lon: 179.999 }, { lat: 0, lon: -179.999 })).toBeCloseTo(222.4, 0);
    expect(destinationPoint({ lat: 0, lon: 179.9999 }, 90, 100).lon).toBeLessThan(-179);
  });
});

describe('circle geofence: 800 m around the Washington Monument', () => {
  const circle: Area = { kind: 'circle', center: WASHINGTON_MONUMENT, radiusM: 800 };

  it('takes cameras just inside and excludes those just outside, in every direction', () => {
    for (const bearing of [0, 60, 120, 180, 240, 300]) {
      expect(areaContains(circle, destinationPoint(WASHINGTON_MONUMENT, bearing, 799))).toBe(true);
      expect(areaContains(circle, destinationPoint(WASHINGTON_MONUMENT, bearing, 801))).toBe(false);
    }
  });

  it('contains the WWII Memorial (≈ 450 m) but not the Lincoln Memorial (≈ 1.29 km) or the White House (≈ 915 m)', () => {
    expect(circleContains(circle, WWII_MEMORIAL)).toBe(true);
    expect(circleContains(circle, LINCOLN_MEMORIAL)).toBe(false);
    expect(circleContains(circle, WHITE_HOUSE)).toBe(false);
    expect(distanceToAreaM(circle, WHITE_HOUSE)).toBeCloseTo(
      distanceM(WASHINGTON_MONUMENT, WHITE_HOUSE) - 800,
      6,
    );
    expect(distanceToAreaM(circle, WWII_MEMORIAL)).toBe(0);
  });

  it('has a bounding box that holds the whole circle and little more', () => {
    const box = boundingBox(circle);
    for (let b = 0; b < 360; b += 5)
      expect(boxContains(box, destinationPoint(WASHINGTON_MONUMENT, b, 800))).toBe(true);
    expect(boxContains(box, destinationPoint(WASHINGTON_MONUMENT, 0, 810))).toBe(false);
    expect(boxContains(box, destinationPoint(WASHINGTON_MONUMENT, 90, 810))).toBe(false);
    const grown = boundingBox(circle, 200);
    expect(boxContains(grown, destinationPoint(WASHINGTON_MONUMENT, 90, 990))).toBe(true);
  });
});

describe('polygon geofence: the National Mall', () => {
  // Constitution Ave (north), Independence Ave (south), 23rd St NW (west), 3rd St (east).
  const mall: Area = {
    kind: 'polygon',
    points: [
      { lat: 38.892, lon: -77.051 },
      { lat: 38.892, lon: -77.013 },
      { lat: 38.887, lon: -77.013 },
      { lat: 38.887, lon: -77.051 },
    ],
  };

  it('contains the Monument, the WWII Memorial and the Smithsonian Castle', () => {
    for (const p of [WASHINGTON_MONUMENT, WWII_MEMORIAL, SMITHSONIAN_CASTLE])
      expect(areaContains(mall, p)).toBe(true);
  });

  it('excludes the White House, the Jefferson Memorial and the Capitol (east of 3rd St)', () => {
    for (const p of [WHITE_HOUSE, JEFFERSON_MEMORIAL, CAPITOL]) expect(areaContains(mall, p)).toBe(false);
  });

  it('gives the same answer closed or open, and counts the edge as inside', () => {
    const closed = [...(mall as { points: LatLon[] }).points, { lat: 38.892, lon: -77.051 }];
    expect(polygonContains(closed, WASHINGTON_MONUMENT)).toBe(true);
    expect(polygonContains(closed, WHITE_HOUSE)).toBe(false);
    expect(polygonContains(closed, { lat: 38.892, lon: -77.03 })).toBe(true);
  });

  it('measures the distance to the nearest edge: the White House is ≈ 633 m north of Constitution Ave', () => {
    const points = (mall as { points: LatLon[] }).points;
    const expected = distanceM(WHITE_HOUSE, { lat: 38.892, lon: WHITE_HOUSE.lon });
    expect(distanceToPolygonEdgeM(points, WHITE_HOUSE)).toBeCloseTo(expected, 0);
    expect(expected).toBeCloseTo(633, -1);
    expect(distanceToAreaM(mall, WASHINGTON_MONUMENT)).toBe(0);
  });

  it('has an enclosing circle around the centre of the Mall, half its diagonal in radius', () => {
    const c = enclosingCircle(mall);
    const diagonal = distanceM({ lat: 38.892, lon: -77.051 }, { lat: 38.887, lon: -77.013 });
    expect(c.radiusM).toBeCloseTo(diagonal / 2, -1);
    expect(c.center.lat).toBeCloseTo(38.8895, 4);
    expect(c.center.lon).toBeCloseTo(-77.032, 4);
  });

  it('has a bounding box equal to its vertices, grown by the margin', () => {
    const box = boundingBox(mall);
    expect(box.minLat).toBeCloseTo(38.887, 9);
    expect(box.maxLon).toBeCloseTo(-77.013, 9);
    expect(boxContains(boundingBox(mall, 700), WHITE_HOUSE)).toBe(true);
    expect(boxContains(box, WHITE_HOUSE)).toBe(false);
  });
});

describe('concave polygon', () => {
  // A U around the Tidal Basin: two arms south of the Mall, open in the middle.
  const u: Area = {
    kind: 'polygon',
    points: [
      { lat: 38.8895, lon: -77.045 },
      { lat: 38.8895, lon: -77.03 },
      { lat: 38.878, lon: -77.03 },
      { lat: 38.878, lon: -77.034 },
      { lat: 38.8865, lon: -77.034 },
      { lat: 38.8865, lon: -77.041 },
      { lat: 38.878, lon: -77.041 },
      { lat: 38.878, lon: -77.045 },
    ],
  };

  it('excludes a point in the notch though it is inside the bounding box and the hull', () => {
    const notch = { lat: 38.882, lon: -77.0375 };
    expect(areaContains(u, notch)).toBe(false);
    expect(boxContains(boundingBox(u), notch)).toBe(true);
  });

  it('includes points in both arms and in the base', () => {
    expect(areaContains(u, { lat: 38.881, lon: -77.043 })).toBe(true);
    expect(areaContains(u, { lat: 38.881, lon: -77.032 })).toBe(true);
    expect(areaContains(u, { lat: 38.888, lon: -77.0375 })).toBe(true);
  });
});

describe('polygon validation', () => {
  it('refuses too few points, self-intersections and zero area; accepts a closed ring', () => {
    expect(polygonProblem([WHITE_HOUSE, CAPITOL])).toMatch(/3/);
    const bowtie = [
      { lat: 38.89, lon: -77.04 },
      { lat: 38.88, lon: -77.03 },
      { lat: 38.89, lon: -77.03 },
      { lat: 38.88, lon: -77.04 },
    ];
    expect(polygonProblem(bowtie)).toMatch(/intersect/);
    expect(
      polygonProblem([WHITE_HOUSE, CAPITOL, { lat: (38.8977 + 38.8899) / 2, lon: (-77.0365 - 77.0091) / 2 }]),
    ).toMatch(/area/);
    expect(polygonProblem([WHITE_HOUSE, CAPITOL, JEFFERSON_MEMORIAL, WHITE_HOUSE])).toBeNull();
  });
});

describe('cameraCovers', () => {
  const circle: Area = { kind: 'circle', center: WASHINGTON_MONUMENT, radiusM: 800 };
  const west = destinationPoint(WASHINGTON_MONUMENT, 270, 300); // 300 m west of the Monument

  it('takes any camera located inside the area, whatever its heading, by default', () => {
    expect(cameraCovers({ ...west, heading: 270, fovDeg: 90 }, circle)).toBe(true);
    expect(cameraCovers(LINCOLN_MEMORIAL, circle)).toBe(false);
  });

  it('with field of view: keeps a camera facing the centre, drops one facing away', () => {
    const opts = { useFieldOfView: true };
    expect(cameraCovers({ ...west, heading: 90, fovDeg: 60 }, circle, opts)).toBe(true);
    expect(cameraCovers({ ...west, heading: 120, fovDeg: 90 }, circle, opts)).toBe(true); // 30° off, half-FOV 45°
    expect(cameraCovers({ ...west, heading: 150, fovDeg: 90 }, circle, opts)).toBe(false); // 60° off
    expect(cameraCovers({ ...west, heading: 270, fovDeg: 90 }, circle, opts)).toBe(false);
  });

  it('never narrows cameras without heading or field of view, or ones right at the focus', () => {
    const opts = { useFieldOfView: true };
    expect(cameraCovers(west, circle, opts)).toBe(true);
    expect(cameraCovers({ ...west, heading: 270 }, circle, opts)).toBe(true);
    const atFocus = destinationPoint(WASHINGTON_MONUMENT, 0, 10);
    expect(cameraCovers({ ...atFocus, heading: 0, fovDeg: 30 }, circle, opts)).toBe(true);
  });
});
