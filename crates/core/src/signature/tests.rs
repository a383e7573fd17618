use super::*;

fn decode(png: &[u8]) -> RgbaImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("valid PNG")
        .to_rgba8()
}

/// A signature-like scribble: a wave, a loop, a short tick and a dot.
fn sample_signature() -> Vec<Stroke> {
    let mut wave = Vec::new();
    for i in 0..160 {
        let x = 40.0 + i as f32 * 3.0;
        let y = 100.0 + 40.0 * (x / 30.0).sin();
        // speed varies along the stroke: slower at the start, faster later
        wave.push(Point::new(x, y, i as u64 * (4 + (160 - i as u64) / 20)));
    }
    let mut ring = Vec::new();
    for i in 0..=60 {
        let a = i as f32 / 60.0 * std::f32::consts::TAU;
        ring.push(Point::with_pressure(
            300.0 + 35.0 * a.cos(),
            90.0 + 25.0 * a.sin(),
            1_000 + i as u64 * 9,
            0.3 + 0.4 * (i as f32 / 60.0),
        ));
    }
    let tick = vec![
        Point::new(480.0, 150.0, 0),
        Point::new(490.0, 165.0, 20),
        Point::new(520.0, 120.0, 45),
        Point::new(560.0, 60.0, 60),
    ];
    let dot = vec![Point::new(570.0, 170.0, 5)];
    vec![wave, ring, tick, dot]
}

fn dist_to_segment(px: f32, py: f32, a: &Point, b: &Point) -> f32 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((px - a.x) * dx + (py - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.x + t * dx, a.y + t * dy);
    (px - cx).hypot(py - cy)
}

fn dist_to_strokes(px: f32, py: f32, strokes: &[Stroke]) -> f32 {
    let mut best = f32::INFINITY;
    for s in strokes {
        if s.len() == 1 {
            best = best.min((px - s[0].x).hypot(py - s[0].y));
        }
        for w in s.windows(2) {
            best = best.min(dist_to_segment(px, py, &w[0], &w[1]));
        }
    }
    best
}

fn ink_amount(img: &RgbaImage) -> f64 {
    img.pixels().map(|p| p.0[3] as f64 / 255.0).sum()
}

#[test]
fn png_has_requested_size() {
    let strokes = sample_signature();
    for (w, h) in [(600, 200), (320, 240)] {
        let opts = RenderOptions {
            width: w,
            height: h,
            ..RenderOptions::default()
        };
        let strokes: Vec<Stroke> = strokes
            .iter()
            .map(|s| {
                s.iter()
                    .map(|p| Point {
                        x: p.x * w as f32 / 600.0,
                        y: p.y * h as f32 / 200.0,
                        ..*p
                    })
                    .collect()
            })
            .collect();
        let png = render_png(&strokes, &opts).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let img = decode(&png);
        assert_eq!((img.width(), img.height()), (w, h));
    }
}

#[test]
fn ink_where_the_strokes_were_and_nowhere_else() {
    let strokes = sample_signature();
    let opts = RenderOptions::default();
    let img = decode(&render_png(&strokes, &opts).unwrap());

    // Ink near every point.
    let near = opts.max_width + 1.0;
    for (si, s) in strokes.iter().enumerate() {
        for (pi, p) in s.iter().enumerate() {
            let r = near.ceil() as i64 + 1;
            let mut found = false;
            for y in (p.y as i64 - r).max(0)..=(p.y as i64 + r).min(img.height() as i64 - 1) {
                for x in (p.x as i64 - r).max(0)..=(p.x as i64 + r).min(img.width() as i64 - 1) {
                    let d = (x as f32 + 0.5 - p.x).hypot(y as f32 + 0.5 - p.y);
                    if d <= near && img.get_pixel(x as u32, y as u32).0[3] > 0 {
                        found = true;
                    }
                }
            }
            assert!(
                found,
                "no ink near stroke {si} point {pi} ({}, {})",
                p.x, p.y
            );
        }
    }

    // No ink farther than max_width + 2 from the polyline.
    let far = opts.max_width + 2.0;
    let mut inked = 0;
    let mut worst = 0.0f32;
    for (x, y, px) in img.enumerate_pixels() {
        if px.0[3] == 0 {
            continue;
        }
        inked += 1;
        let d = dist_to_strokes(x as f32 + 0.5, y as f32 + 0.5, &strokes);
        worst = worst.max(d);
        assert!(d <= far, "ink at ({x}, {y}) is {d:.2} px from the strokes");
    }
    assert!(inked > 1000, "only {inked} inked pixels");
    eprintln!("inked pixels: {inked}, farthest ink from the polyline: {worst:.2} px");
}

#[test]
fn sparse_zigzag_stays_close_to_its_polyline() {
    // Long segments with sharp turns: the curve must not overshoot.
    let strokes = vec![vec![
        Point::new(20.0, 20.0, 0),
        Point::new(80.0, 180.0, 30),
        Point::new(100.0, 20.0, 31),
        Point::new(300.0, 180.0, 200),
        Point::new(305.0, 20.0, 210),
        Point::new(580.0, 100.0, 400),
    ]];
    let opts = RenderOptions::default();
    let img = decode(&render_png(&strokes, &opts).unwrap());
    for (x, y, px) in img.enumerate_pixels() {
        if px.0[3] > 0 {
            let d = dist_to_strokes(x as f32 + 0.5, y as f32 + 0.5, &strokes);
            assert!(
                d <= opts.max_width + 2.0,
                "ink at ({x}, {y}) is {d:.2} px away"
            );
        }
    }
}

fn horizontal_line(dt: u64) -> Vec<Stroke> {
    vec![(0..=100)
        .map(|i| Point::new(50.0 + i as f32 * 5.0, 100.0, i as u64 * dt))
        .collect()]
}

#[test]
fn fast_stroke_is_thinner_than_slow_stroke() {
    let opts = RenderOptions::default();
    let length = 500.0;
    let slow = ink_amount(&decode(&render_png(&horizontal_line(40), &opts).unwrap())) / length;
    let fast = ink_amount(&decode(&render_png(&horizontal_line(1), &opts).unwrap())) / length;
    eprintln!("ink per px of length: slow {slow:.2}, fast {fast:.2}");
    assert!(slow > fast * 1.5, "slow {slow} vs fast {fast}");
    // Widths stay within the configured range (ink per length ~ line width).
    assert!(slow <= opts.max_width as f64 + 0.5);
    assert!(fast >= opts.min_width as f64 - 0.3);
}

#[test]
fn pressure_widens_the_line() {
    let opts = RenderOptions::default();
    let line = |pressure: f32| -> Vec<Stroke> {
        vec![(0..=100)
            .map(|i| Point::with_pressure(50.0 + i as f32 * 5.0, 100.0, i as u64 * 4, pressure))
            .collect()]
    };
    let light = ink_amount(&decode(&render_png(&line(0.1), &opts).unwrap()));
    let heavy = ink_amount(&decode(&render_png(&line(0.9), &opts).unwrap()));
    assert!(heavy > light * 1.3, "heavy {heavy} vs light {light}");
}

#[test]
fn single_point_draws_a_dot() {
    let opts = RenderOptions::default();
    let strokes = vec![vec![Point::new(100.0, 50.0, 0)]];
    let img = decode(&render_png(&strokes, &opts).unwrap());
    assert!(img.get_pixel(100, 50).0[3] > 200, "dot centre is inked");
    let mut n = 0;
    for (x, y, px) in img.enumerate_pixels() {
        if px.0[3] > 0 {
            n += 1;
            let d = (x as f32 + 0.5 - 100.0).hypot(y as f32 + 0.5 - 50.0);
            assert!(d <= opts.max_width, "dot ink at distance {d}");
        }
    }
    assert!((4..=60).contains(&n), "{n} pixels in the dot");

    // Repeated touches at one spot are a dot too.
    let same = vec![vec![Point::new(100.0, 50.0, 0); 5]];
    assert_eq!(
        render_png(&same, &opts).unwrap(),
        render_png(&strokes, &opts).unwrap()
    );
}

#[test]
fn empty_signature_is_rejected() {
    let opts = RenderOptions::default();
    assert_eq!(render_png(&[], &opts), Err(SignatureError::Empty));
    assert_eq!(
        render_png(&[vec![], vec![]], &opts),
        Err(SignatureError::Empty)
    );
    assert_eq!(bounding_box(&[]), None);
}

#[test]
fn invalid_points_are_rejected() {
    let opts = RenderOptions::default();
    let mut strokes = sample_signature();
    strokes[1][2].x = f32::NAN;
    assert_eq!(
        render_png(&strokes, &opts),
        Err(SignatureError::InvalidPoint {
            stroke: 1,
            index: 2
        })
    );

    let mut strokes = sample_signature();
    strokes[0][7].y = f32::INFINITY;
    assert_eq!(
        render_png(&strokes, &opts),
        Err(SignatureError::InvalidPoint {
            stroke: 0,
            index: 7
        })
    );

    let mut strokes = sample_signature();
    strokes[2][0].pressure = f32::NAN;
    assert!(matches!(
        render_png(&strokes, &opts),
        Err(SignatureError::InvalidPoint {
            stroke: 2,
            index: 0
        })
    ));

    // Far outside the canvas: invalid. Slightly outside (within the margin): clipped.
    let far = vec![vec![
        Point::new(10.0, 10.0, 0),
        Point::new(-100.0, 10.0, 10),
    ]];
    assert_eq!(
        render_png(&far, &opts),
        Err(SignatureError::InvalidPoint {
            stroke: 0,
            index: 1
        })
    );
    let near = vec![vec![Point::new(10.0, 10.0, 0), Point::new(-5.0, 205.0, 10)]];
    assert!(render_png(&near, &opts).is_ok());
}

#[test]
fn too_many_points_are_rejected() {
    let opts = RenderOptions::default();
    let stroke: Stroke = (0..=MAX_POINTS)
        .map(|i| Point::new((i % 500) as f32, (i / 500) as f32, i as u64))
        .collect();
    assert_eq!(
        render_png(std::slice::from_ref(&stroke), &opts),
        Err(SignatureError::TooManyPoints)
    );
    // Exactly the limit, split over strokes, is fine.
    let a = stroke[..MAX_POINTS / 2].to_vec();
    let b = stroke[MAX_POINTS / 2..MAX_POINTS].to_vec();
    assert!(render_png(&[a, b], &opts).is_ok());
}

#[test]
fn bad_options_are_rejected() {
    let strokes = sample_signature();
    let zero = RenderOptions {
        width: 0,
        ..RenderOptions::default()
    };
    assert!(matches!(
        render_png(&strokes, &zero),
        Err(SignatureError::InvalidOptions(_))
    ));
    let inverted = RenderOptions {
        min_width: 5.0,
        max_width: 1.0,
        ..RenderOptions::default()
    };
    assert!(matches!(
        render_png(&strokes, &inverted),
        Err(SignatureError::InvalidOptions(_))
    ));
}

#[test]
fn rendering_is_deterministic() {
    let strokes = sample_signature();
    let opts = RenderOptions::default();
    let a = render_png(&strokes, &opts).unwrap();
    let b = render_png(&strokes.clone(), &opts.clone()).unwrap();
    assert_eq!(a, b);
    // An independent copy of the points gives the same image.
    let again: Vec<Stroke> = strokes
        .iter()
        .map(|s| s.iter().map(|p| Point { ..*p }).collect())
        .collect();
    assert_eq!(render_png(&again, &opts).unwrap(), a);
}

#[test]
fn background_is_transparent_by_default() {
    let strokes = sample_signature();
    let img = decode(&render_png(&strokes, &RenderOptions::default()).unwrap());
    for (x, y) in [(0, 0), (599, 0), (0, 199), (599, 199), (300, 5), (20, 100)] {
        assert_eq!(img.get_pixel(x, y).0[3], 0, "pixel ({x}, {y})");
    }
    // Pixels away from every stroke are fully transparent.
    for (x, y, px) in img.enumerate_pixels() {
        if dist_to_strokes(x as f32 + 0.5, y as f32 + 0.5, &strokes) > 8.0 {
            assert_eq!(px.0[3], 0);
        }
    }
    // Full ink somewhere, in the ink colour.
    let full = img
        .pixels()
        .find(|p| p.0[3] == 255)
        .expect("some fully inked pixel");
    assert_eq!(&full.0[..3], &DEFAULT_INK);
}

#[test]
fn solid_background_is_opaque() {
    let strokes = sample_signature();
    let opts = RenderOptions {
        background: Some([255, 255, 255]),
        ink: [0, 0, 0],
        ..RenderOptions::default()
    };
    let img = decode(&render_png(&strokes, &opts).unwrap());
    assert!(img.pixels().all(|p| p.0[3] == 255));
    assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255, 255]);
    assert!(img.pixels().any(|p| p.0[..3] == [0, 0, 0]));
}

#[test]
fn bounding_box_covers_all_points() {
    let strokes = sample_signature();
    let (x0, y0, x1, y1) = bounding_box(&strokes).unwrap();
    for p in strokes.iter().flatten() {
        assert!(p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1);
    }
    assert_eq!(x0, 40.0);
    assert_eq!(x1, 570.0);
    let one = vec![vec![Point::new(3.0, 4.0, 0)]];
    assert_eq!(bounding_box(&one), Some((3.0, 4.0, 3.0, 4.0)));
}

#[test]
fn point_constructors() {
    let p = Point::with_pressure(1.0, 2.0, 3, 0.7);
    let q = p;
    assert_eq!(p, q);
    assert_eq!(Point::new(1.0, 2.0, 3).pressure, UNKNOWN_PRESSURE);
}
