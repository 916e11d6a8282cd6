//! The common Tailwind CSS utility classes, turned into the CSS declarations they stand for, so
//! slides styled with Tailwind keep their sizes, colours, spacing and layout.
//!
//! Responsive prefixes up to `lg:` apply (a slide is 1024 px wide); state and `dark:` variants do
//! not. Unknown classes produce nothing.

use crate::css::Declaration;

/// The default palette's colour families, shades 50 to 950.
const SHADES: [u16; 11] = [50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 950];

#[rustfmt::skip]
const PALETTE: &[(&str, [u32; 11])] = &[
    ("slate", [0xf8fafc, 0xf1f5f9, 0xe2e8f0, 0xcbd5e1, 0x94a3b8, 0x64748b, 0x475569, 0x334155, 0x1e293b, 0x0f172a, 0x020617]),
    ("gray", [0xf9fafb, 0xf3f4f6, 0xe5e7eb, 0xd1d5db, 0x9ca3af, 0x6b7280, 0x4b5563, 0x374151, 0x1f2937, 0x111827, 0x030712]),
    ("zinc", [0xfafafa, 0xf4f4f5, 0xe4e4e7, 0xd4d4d8, 0xa1a1aa, 0x71717a, 0x52525b, 0x3f3f46, 0x27272a, 0x18181b, 0x09090b]),
    ("neutral", [0xfafafa, 0xf5f5f5, 0xe5e5e5, 0xd4d4d4, 0xa3a3a3, 0x737373, 0x525252, 0x404040, 0x262626, 0x171717, 0x0a0a0a]),
    ("stone", [0xfafaf9, 0xf5f5f4, 0xe7e5e4, 0xd6d3d1, 0xa8a29e, 0x78716c, 0x57534e, 0x44403c, 0x292524, 0x1c1917, 0x0c0a09]),
    ("red", [0xfef2f2, 0xfee2e2, 0xfecaca, 0xfca5a5, 0xf87171, 0xef4444, 0xdc2626, 0xb91c1c, 0x991b1b, 0x7f1d1d, 0x450a0a]),
    ("orange", [0xfff7ed, 0xffedd5, 0xfed7aa, 0xfdba74, 0xfb923c, 0xf97316, 0xea580c, 0xc2410c, 0x9a3412, 0x7c2d12, 0x431407]),
    ("amber", [0xfffbeb, 0xfef3c7, 0xfde68a, 0xfcd34d, 0xfbbf24, 0xf59e0b, 0xd97706, 0xb45309, 0x92400e, 0x78350f, 0x451a03]),
    ("yellow", [0xfefce8, 0xfef9c3, 0xfef08a, 0xfde047, 0xfacc15, 0xeab308, 0xca8a04, 0xa16207, 0x854d0e, 0x713f12, 0x422006]),
    ("lime", [0xf7fee7, 0xecfccb, 0xd9f99d, 0xbef264, 0xa3e635, 0x84cc16, 0x65a30d, 0x4d7c0f, 0x3f6212, 0x365314, 0x1a2e05]),
    ("green", [0xf0fdf4, 0xdcfce7, 0xbbf7d0, 0x86efac, 0x4ade80, 0x22c55e, 0x16a34a, 0x15803d, 0x166534, 0x14532d, 0x052e16]),
    ("emerald", [0xecfdf5, 0xd1fae5, 0xa7f3d0, 0x6ee7b7, 0x34d399, 0x10b981, 0x059669, 0x047857, 0x065f46, 0x064e3b, 0x022c22]),
    ("teal", [0xf0fdfa, 0xccfbf1, 0x99f6e4, 0x5eead4, 0x2dd4bf, 0x14b8a6, 0x0d9488, 0x0f766e, 0x115e59, 0x134e4a, 0x042f2e]),
    ("cyan", [0xecfeff, 0xcffafe, 0xa5f3fc, 0x67e8f9, 0x22d3ee, 0x06b6d4, 0x0891b2, 0x0e7490, 0x155e75, 0x164e63, 0x083344]),
    ("sky", [0xf0f9ff, 0xe0f2fe, 0xbae6fd, 0x7dd3fc, 0x38bdf8, 0x0ea5e9, 0x0284c7, 0x0369a1, 0x075985, 0x0c4a6e, 0x082f49]),
    ("blue", [0xeff6ff, 0xdbeafe, 0xbfdbfe, 0x93c5fd, 0x60a5fa, 0x3b82f6, 0x2563eb, 0x1d4ed8, 0x1e40af, 0x1e3a8a, 0x172554]),
    ("indigo", [0xeef2ff, 0xe0e7ff, 0xc7d2fe, 0xa5b4fc, 0x818cf8, 0x6366f1, 0x4f46e5, 0x4338ca, 0x3730a3, 0x312e81, 0x1e1b4b]),
    ("violet", [0xf5f3ff, 0xede9fe, 0xddd6fe, 0xc4b5fd, 0xa78bfa, 0x8b5cf6, 0x7c3aed, 0x6d28d9, 0x5b21b6, 0x4c1d95, 0x2e1065]),
    ("purple", [0xfaf5ff, 0xf3e8ff, 0xe9d5ff, 0xd8b4fe, 0xc084fc, 0xa855f7, 0x9333ea, 0x7e22ce, 0x6b21a8, 0x581c87, 0x3b0764]),
    ("fuchsia", [0xfdf4ff, 0xfae8ff, 0xf5d0fe, 0xf0abfc, 0xe879f9, 0xd946ef, 0xc026d3, 0xa21caf, 0x86198f, 0x701a75, 0x4a044e]),
    ("pink", [0xfdf2f8, 0xfce7f3, 0xfbcfe8, 0xf9a8d4, 0xf472b6, 0xec4899, 0xdb2777, 0xbe185d, 0x9d174d, 0x831843, 0x500724]),
    ("rose", [0xfff1f2, 0xffe4e6, 0xfecdd3, 0xfda4af, 0xfb7185, 0xf43f5e, 0xe11d48, 0xbe123c, 0x9f1239, 0x881337, 0x4c0519]),
];

/// `text-*` sizes: font size and line height in pixels (0 = a unitless line height of 1).
const TEXT_SIZES: &[(&str, f32, f32)] = &[
    ("xs", 12.0, 16.0),
    ("sm", 14.0, 20.0),
    ("base", 16.0, 24.0),
    ("lg", 18.0, 28.0),
    ("xl", 20.0, 28.0),
    ("2xl", 24.0, 32.0),
    ("3xl", 30.0, 36.0),
    ("4xl", 36.0, 40.0),
    ("5xl", 48.0, 0.0),
    ("6xl", 60.0, 0.0),
    ("7xl", 72.0, 0.0),
    ("8xl", 96.0, 0.0),
    ("9xl", 128.0, 0.0),
];

const WEIGHTS: &[(&str, u16)] = &[
    ("thin", 100),
    ("extralight", 200),
    ("light", 300),
    ("normal", 400),
    ("medium", 500),
    ("semibold", 600),
    ("bold", 700),
    ("extrabold", 800),
    ("black", 900),
];

const MAX_WIDTHS: &[(&str, &str)] = &[
    ("xs", "320px"),
    ("sm", "384px"),
    ("md", "448px"),
    ("lg", "512px"),
    ("xl", "576px"),
    ("2xl", "672px"),
    ("3xl", "768px"),
    ("4xl", "896px"),
    ("5xl", "1024px"),
    ("6xl", "1152px"),
    ("7xl", "1280px"),
    ("full", "100%"),
    ("prose", "65em"),
];

const RADII: &[(&str, &str)] = &[
    ("", "4px"),
    ("none", "0"),
    ("sm", "2px"),
    ("md", "6px"),
    ("lg", "8px"),
    ("xl", "12px"),
    ("2xl", "16px"),
    ("3xl", "24px"),
    ("full", "9999px"),
];

fn decl(property: &str, value: impl Into<String>) -> Declaration {
    (property.to_owned(), value.into())
}

/// The contents of an arbitrary value `[...]`, underscores read as spaces.
fn arbitrary(value: &str) -> Option<String> {
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    Some(inner.replace('_', " "))
}

/// A spacing-scale value (`4` = 16px, `px`, `1/2`, `full`, `auto`, `[30px]`) as CSS.
fn spacing(value: &str) -> Option<String> {
    if let Some(v) = arbitrary(value) {
        return Some(v);
    }
    match value {
        "px" => return Some("1px".into()),
        "full" | "screen" => return Some("100%".into()),
        "auto" => return Some("auto".into()),
        _ => {}
    }
    if let Some((n, d)) = value.split_once('/') {
        let (n, d): (f32, f32) = (n.parse().ok()?, d.parse().ok()?);
        return (d > 0.0).then(|| format!("{}%", n / d * 100.0));
    }
    let n: f32 = value.parse().ok()?;
    Some(format!("{}px", n * 4.0))
}

/// A palette colour (`blue-500`, `white`, `[#123456]`), with an optional `/NN` opacity.
pub(crate) fn color(value: &str) -> Option<String> {
    let (name, opacity) = match value.rsplit_once('/') {
        Some((name, o)) if !name.starts_with('[') || name.ends_with(']') => {
            let o = arbitrary(o).unwrap_or_else(|| o.to_owned());
            let o: f32 = o.trim_end_matches('%').parse().ok()?;
            (name, Some(if o > 1.0 { o / 100.0 } else { o }))
        }
        _ => (value, None),
    };
    let rgb = if let Some(v) = arbitrary(name) {
        let c = crate::css::color(&v)?;
        (c.r, c.g, c.b, c.alpha)
    } else {
        match name {
            "white" => (255, 255, 255, 1.0),
            "black" => (0, 0, 0, 1.0),
            "transparent" => (0, 0, 0, 0.0),
            _ => {
                let (family, shade) = name.rsplit_once('-')?;
                let shade: u16 = shade.parse().ok()?;
                let (_, shades) = PALETTE.iter().find(|(f, _)| *f == family)?;
                let rgb = shades[SHADES.iter().position(|&s| s == shade)?];
                ((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8, 1.0)
            }
        }
    };
    let alpha = rgb.3 * opacity.unwrap_or(1.0);
    Some(format!("rgba({}, {}, {}, {alpha})", rgb.0, rgb.1, rgb.2))
}

/// The declarations one class stands for (empty for classes that do not change a slide).
pub(crate) fn declarations(class: &str) -> Vec<Declaration> {
    let mut class = class;
    while let Some((variant, rest)) = class.split_once(':') {
        if variant.starts_with('[') {
            break;
        }
        if !matches!(variant, "sm" | "md" | "lg") {
            return Vec::new();
        }
        class = rest;
    }
    let (negative, class) = match class.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, class),
    };
    let mut out = utility(class).unwrap_or_default();
    if negative {
        for (_, value) in &mut out {
            *value = format!("-{value}");
        }
    }
    out
}

fn sides(prefix: &str) -> Option<&'static [&'static str]> {
    Some(match prefix {
        "" => &["top", "right", "bottom", "left"],
        "x" => &["left", "right"],
        "y" => &["top", "bottom"],
        "t" => &["top"],
        "r" => &["right"],
        "b" => &["bottom"],
        "l" => &["left"],
        _ => return None,
    })
}

/// `p-4`, `mx-auto`, `pt-[30px]` ...: `prefix` is `p`, `mx`, `pt` ...
fn box_spacing(property: &str, prefix: &str, value: &str) -> Option<Vec<Declaration>> {
    let side = prefix.get(1..)?;
    let value = spacing(value)?;
    Some(
        sides(side)?
            .iter()
            .map(|s| decl(&format!("{property}-{s}"), value.clone()))
            .collect(),
    )
}

fn utility(class: &str) -> Option<Vec<Declaration>> {
    let one = |property: &str, value: &str| Some(vec![decl(property, value)]);
    match class {
        "flex" | "inline-flex" => return one("display", "flex"),
        "grid" | "inline-grid" => return one("display", "grid"),
        "block" => return one("display", "block"),
        "inline-block" => return one("display", "inline-block"),
        "inline" => return one("display", "inline"),
        "hidden" => return one("display", "none"),
        "table" => return one("display", "table"),
        "flex-row" => return one("flex-direction", "row"),
        "flex-col" => return one("flex-direction", "column"),
        "flex-wrap" => return one("flex-wrap", "wrap"),
        "flex-1" => return one("flex", "1 1 0%"),
        "flex-auto" => return one("flex", "1 1 auto"),
        "flex-none" => return one("flex", "none"),
        "grow" | "flex-grow" => return one("flex-grow", "1"),
        "absolute" | "fixed" => return one("position", "absolute"),
        "relative" => return one("position", "relative"),
        "static" => return one("position", "static"),
        "italic" => return one("font-style", "italic"),
        "not-italic" => return one("font-style", "normal"),
        "underline" => return one("text-decoration", "underline"),
        "line-through" => return one("text-decoration", "line-through"),
        "no-underline" => return one("text-decoration", "none"),
        "uppercase" => return one("text-transform", "uppercase"),
        "lowercase" => return one("text-transform", "lowercase"),
        "capitalize" => return one("text-transform", "capitalize"),
        "list-disc" => return one("list-style-type", "disc"),
        "list-decimal" => return one("list-style-type", "decimal"),
        "list-none" => return one("list-style-type", "none"),
        "mx-auto" => {
            return Some(vec![
                decl("margin-left", "auto"),
                decl("margin-right", "auto"),
            ])
        }
        "border" => return one("border-width", "1px"),
        "inset-0" => {
            return Some(
                ["top", "right", "bottom", "left"]
                    .iter()
                    .map(|s| decl(s, "0px"))
                    .collect(),
            )
        }
        "object-cover" => return one("object-fit", "cover"),
        "object-contain" => return one("object-fit", "contain"),
        "bg-cover" => return one("background-size", "cover"),
        "bg-contain" => return one("background-size", "contain"),
        "whitespace-pre" | "whitespace-pre-wrap" | "whitespace-pre-line" => {
            return one("white-space", "pre-wrap")
        }
        _ => {}
    }
    if let Some(direction) = class.strip_prefix("bg-gradient-to-") {
        let to = match direction {
            "t" => "to top",
            "tr" => "to top right",
            "r" => "to right",
            "br" => "to bottom right",
            "b" => "to bottom",
            "bl" => "to bottom left",
            "l" => "to left",
            "tl" => "to top left",
            _ => return None,
        };
        return one("--tw-gradient-direction", to);
    }
    let (prefix, rest) = class.split_once('-')?;
    match prefix {
        "list" => one("list-style-type", &arbitrary(rest)?),
        "opacity" => {
            let percent: f32 = arbitrary(rest)
                .unwrap_or_else(|| rest.to_owned())
                .trim_end_matches('%')
                .parse()
                .ok()?;
            one("opacity", &format!("{}", percent / 100.0))
        }
        "text" => {
            if let Some(&(_, size, line)) = TEXT_SIZES.iter().find(|(n, ..)| *n == rest) {
                let line = if line == 0.0 {
                    "1".to_owned()
                } else {
                    format!("{line}px")
                };
                return Some(vec![
                    decl("font-size", format!("{size}px")),
                    decl("line-height", line),
                ]);
            }
            if matches!(rest, "left" | "center" | "right" | "justify") {
                return one("text-align", rest);
            }
            if let Some(v) = arbitrary(rest) {
                if crate::css::length(&v).is_some() {
                    return one("font-size", &v);
                }
            }
            one("color", &color(rest)?)
        }
        "font" => {
            if let Some(&(_, weight)) = WEIGHTS.iter().find(|(n, _)| *n == rest) {
                return one("font-weight", &weight.to_string());
            }
            match rest {
                "sans" => one("font-family", "sans-serif"),
                "serif" => one("font-family", "serif"),
                "mono" => one("font-family", "monospace"),
                _ => one("font-family", &arbitrary(rest)?),
            }
        }
        "leading" => {
            let value = match rest {
                "none" => "1".to_owned(),
                "tight" => "1.25".to_owned(),
                "snug" => "1.375".to_owned(),
                "normal" => "1.5".to_owned(),
                "relaxed" => "1.625".to_owned(),
                "loose" => "2".to_owned(),
                _ => spacing(rest)?,
            };
            one("line-height", &value)
        }
        "bg" => {
            if let Some(v) = arbitrary(rest) {
                if v.starts_with("url(") {
                    return one("background-image", &v);
                }
            }
            one("background-color", &color(rest)?)
        }
        "from" => one("--tw-gradient-from", &color(rest)?),
        "via" => one("--tw-gradient-via", &color(rest)?),
        "to" => one("--tw-gradient-to", &color(rest)?),
        "p" | "px" | "py" | "pt" | "pr" | "pb" | "pl" => box_spacing("padding", prefix, rest),
        "m" | "mx" | "my" | "mt" | "mr" | "mb" | "ml" => box_spacing("margin", prefix, rest),
        "w" => one("width", &spacing(rest)?),
        "h" => one("height", &spacing(rest)?),
        "size" => {
            let v = spacing(rest)?;
            Some(vec![decl("width", v.clone()), decl("height", v)])
        }
        "min" => {
            let value = rest.strip_prefix("h-")?;
            one("min-height", &spacing(value)?)
        }
        "max" => {
            let value = rest.strip_prefix("w-")?;
            let width = MAX_WIDTHS
                .iter()
                .find(|(n, _)| *n == value)
                .map(|(_, w)| (*w).to_owned())
                .or_else(|| spacing(value))?;
            one("max-width", &width)
        }
        "top" | "right" | "bottom" | "left" => one(prefix, &spacing(rest)?),
        "inset" => {
            let (axis, value) = match rest.split_once('-') {
                Some((axis @ ("x" | "y"), value)) => (axis, value),
                _ => ("", rest),
            };
            let value = spacing(value)?;
            let props: &[&str] = match axis {
                "x" => &["left", "right"],
                "y" => &["top", "bottom"],
                _ => &["top", "right", "bottom", "left"],
            };
            Some(props.iter().map(|p| decl(p, value.clone())).collect())
        }
        "gap" => match rest.split_once('-') {
            Some(("x", v)) => one("column-gap", &spacing(v)?),
            Some(("y", v)) => one("row-gap", &spacing(v)?),
            _ => one("gap", &spacing(rest)?),
        },
        "space" => match rest.split_once('-') {
            Some(("y", v)) => one("--space-y", &spacing(v)?),
            Some(("x", v)) => one("--space-x", &spacing(v)?),
            _ => None,
        },
        "grid" => {
            let n = rest.strip_prefix("cols-")?;
            match arbitrary(n) {
                Some(template) => one("grid-template-columns", &template),
                None => one(
                    "grid-template-columns",
                    &format!("repeat({}, 1fr)", n.parse::<usize>().ok()?),
                ),
            }
        }
        "col" => {
            let n: usize = rest.strip_prefix("span-")?.parse().ok()?;
            one("grid-column", &format!("span {n}"))
        }
        "items" => one(
            "align-items",
            match rest {
                "start" => "flex-start",
                "end" => "flex-end",
                "center" => "center",
                "stretch" => "stretch",
                "baseline" => "flex-start",
                _ => return None,
            },
        ),
        "justify" => one(
            "justify-content",
            match rest {
                "start" => "flex-start",
                "end" => "flex-end",
                "center" => "center",
                "between" => "space-between",
                "around" => "space-around",
                "evenly" => "space-evenly",
                _ => return None,
            },
        ),
        "rounded" => {
            let radius = RADII.iter().find(|(n, _)| *n == rest)?.1;
            one("border-radius", radius)
        }
        "border" => {
            // border-2, border-l-4, border-t, border-blue-500, border-[#333]
            let width = |v: &str| -> Option<String> {
                if v.is_empty() {
                    return Some("1px".into());
                }
                arbitrary(v).or_else(|| v.parse::<f32>().ok().map(|n| format!("{n}px")))
            };
            if let Some(w) = width(rest) {
                return one("border-width", &w);
            }
            let (side, value) = rest.split_once('-').unwrap_or((rest, ""));
            if side.len() == 1 {
                if let (Some(sides), Some(w)) = (sides(side), width(value)) {
                    return Some(
                        sides
                            .iter()
                            .map(|s| decl(&format!("border-{s}-width"), w.clone()))
                            .collect(),
                    );
                }
            }
            one("border-color", &color(rest)?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(class: &str) -> Vec<(String, String)> {
        declarations(class)
    }

    fn pair(p: &str, v: &str) -> (String, String) {
        (p.to_owned(), v.to_owned())
    }

    #[test]
    fn text_classes_set_size_alignment_and_colour() {
        assert_eq!(
            d("text-4xl"),
            vec![pair("font-size", "36px"), pair("line-height", "40px")]
        );
        assert_eq!(d("text-center"), vec![pair("text-align", "center")]);
        assert_eq!(
            d("text-blue-600"),
            vec![pair("color", "rgba(37, 99, 235, 1)")]
        );
        assert_eq!(d("text-[28px]"), vec![pair("font-size", "28px")]);
        assert_eq!(
            d("text-[#ff0000]"),
            vec![pair("color", "rgba(255, 0, 0, 1)")]
        );
        assert_eq!(
            d("text-white/80"),
            vec![pair("color", "rgba(255, 255, 255, 0.8)")]
        );
    }

    #[test]
    fn spacing_classes_use_the_four_pixel_scale_and_arbitrary_values() {
        assert_eq!(
            d("px-4"),
            vec![pair("padding-left", "16px"), pair("padding-right", "16px")]
        );
        assert_eq!(d("mt-2.5"), vec![pair("margin-top", "10px")]);
        assert_eq!(d("-mt-2"), vec![pair("margin-top", "-8px")]);
        assert_eq!(d("w-1/2"), vec![pair("width", "50%")]);
        assert_eq!(d("w-[1024px]"), vec![pair("width", "1024px")]);
        assert_eq!(d("p-[30px]").len(), 4);
        assert_eq!(d("max-w-2xl"), vec![pair("max-width", "672px")]);
    }

    #[test]
    fn layout_and_border_classes() {
        assert_eq!(
            d("grid-cols-3"),
            vec![pair("grid-template-columns", "repeat(3, 1fr)")]
        );
        assert_eq!(d("border-l-4"), vec![pair("border-left-width", "4px")]);
        assert_eq!(d("border"), vec![pair("border-width", "1px")]);
        assert_eq!(d("border-2"), vec![pair("border-width", "2px")]);
        assert_eq!(
            d("border-gray-200"),
            vec![pair("border-color", "rgba(229, 231, 235, 1)")]
        );
        assert_eq!(
            d("justify-between"),
            vec![pair("justify-content", "space-between")]
        );
        assert_eq!(
            d("bg-gradient-to-br"),
            vec![pair("--tw-gradient-direction", "to bottom right")]
        );
    }

    #[test]
    fn variants_apply_up_to_large_screens_only() {
        assert_eq!(d("md:text-center"), vec![pair("text-align", "center")]);
        assert!(d("hover:text-center").is_empty());
        assert!(d("xl:text-center").is_empty());
        assert!(d("dark:bg-black").is_empty());
        assert!(d("fa-solid").is_empty());
    }
}
