//! `--layers`: W+ layer indices as numbers and inclusive ranges.

/// W+ layer indices, sorted and without repeats.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerList(pub Vec<usize>);

/// Parses `0,1,2`, `0-3` or `0-3,8,10-11` (ranges inclusive).
pub fn parse_layers(text: &str) -> Result<LayerList, String> {
    let mut layers = Vec::new();
    for part in text.split(',').map(str::trim) {
        let number = |s: &str| s.trim().parse::<usize>().map_err(|_| format!("`{part}` is not a layer or a range a-b"));
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    return Err(format!("range `{part}` runs backwards"));
                }
                if b - a >= 4096 {
                    return Err(format!("range `{part}` is longer than any generator's W+"));
                }
                layers.extend(a..=b);
            }
            None => layers.push(number(part)?),
        }
    }
    layers.sort_unstable();
    layers.dedup();
    Ok(LayerList(layers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_lists_and_ranges() {
        assert_eq!(parse_layers("0,1,2").unwrap().0, vec![0, 1, 2]);
        assert_eq!(parse_layers("0-3").unwrap().0, vec![0, 1, 2, 3]);
        assert_eq!(parse_layers("8-9, 0-1,9").unwrap().0, vec![0, 1, 8, 9]);
        assert!(parse_layers("3-1").is_err());
        assert!(parse_layers("a-b").is_err());
        assert!(parse_layers("1,,2").is_err());
        assert!(parse_layers("0-99999999999").is_err());
    }
}
