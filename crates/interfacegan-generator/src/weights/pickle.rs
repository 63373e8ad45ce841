//! A pickle reader for PyTorch checkpoints that builds values and never executes anything.
//!
//! `torch.save` writes a state dict as a pickle whose only callables are a handful of tensor
//! and container constructors. We interpret exactly those (`collections.OrderedDict`,
//! `torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`, the typed storages) symbolically and
//! refuse every other global, so a malicious file is an error, not code execution.

use crate::error::GeneratorError;

/// Element type of a PyTorch storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StorageType {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageType {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    pub(crate) fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }
}

/// A storage named by a persistent id: its bytes live outside the pickle.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StorageRef {
    pub dtype: StorageType,
    pub key: String,
    pub numel: usize,
}

/// A tensor: a strided view into a storage.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TensorRef {
    pub storage: StorageRef,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

/// The values a checkpoint pickle can build.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String),
    Storage(StorageRef),
    Tensor(TensorRef),
    Mark,
}

/// Callables we interpret; everything else is refused.
const ALLOWED_GLOBALS: &[&str] = &[
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
];

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    source: &'a str,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: impl Into<String>) -> GeneratorError {
        crate::error::format_error(self.source, format!("pickle at byte {}: {}", self.pos, reason.into()))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], GeneratorError> {
        if self.bytes.len() - self.pos < n {
            return Err(self.err("truncated"));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, GeneratorError> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N], GeneratorError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    fn line(&mut self) -> Result<&'a str, GeneratorError> {
        let rest = &self.bytes[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| self.err("unterminated text line"))?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| self.err("text line is not UTF-8"))
    }

    fn string(&mut self, len: usize) -> Result<String, GeneratorError> {
        let raw = self.take(len)?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.err("string is not UTF-8"))
    }
}

fn as_usize(value: &Value) -> Option<usize> {
    match value {
        Value::Int(v) if *v >= 0 => Some(*v as usize),
        _ => None,
    }
}

fn as_usizes(value: &Value) -> Option<Vec<usize>> {
    match value {
        Value::Tuple(items) | Value::List(items) => items.iter().map(as_usize).collect(),
        _ => None,
    }
}

/// Reads one pickle from `bytes`, returning the value and the number of bytes it used.
pub(crate) fn parse(bytes: &[u8], source: &str) -> Result<(Value, usize), GeneratorError> {
    let mut r = Reader { bytes, pos: 0, source };
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: std::collections::HashMap<u64, Value> = std::collections::HashMap::new();

    fn pop(stack: &mut Vec<Value>, r: &Reader) -> Result<Value, GeneratorError> {
        stack.pop().ok_or_else(|| r.err("stack underflow"))
    }
    fn pop_mark(stack: &mut Vec<Value>, r: &Reader) -> Result<Vec<Value>, GeneratorError> {
        let at = stack.iter().rposition(|v| *v == Value::Mark).ok_or_else(|| r.err("MARK missing"))?;
        let items = stack.split_off(at + 1);
        stack.pop();
        Ok(items)
    }
    fn top_mut<'s>(stack: &'s mut [Value], r: &Reader) -> Result<&'s mut Value, GeneratorError> {
        stack.last_mut().ok_or_else(|| r.err("stack underflow"))
    }

    loop {
        let op = r.u8()?;
        match op {
            0x80 => {
                let proto = r.u8()?;
                if proto > 5 {
                    return Err(r.err(format!("pickle protocol {proto} is not supported")));
                }
            }
            0x95 => {
                r.le::<8>()?; // FRAME: a length hint only
            }
            b'.' => {
                let value = pop(&mut stack, &r)?;
                return Ok((value, r.pos));
            }
            b'(' => stack.push(Value::Mark),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'J' => stack.push(Value::Int(i32::from_le_bytes(r.le()?) as i64)),
            b'K' => stack.push(Value::Int(r.u8()? as i64)),
            b'M' => stack.push(Value::Int(u16::from_le_bytes(r.le()?) as i64)),
            0x8a => {
                let n = r.u8()? as usize;
                let raw = r.take(n)?;
                if n > 8 {
                    // Only the legacy format's magic number is this long; keep its low bits.
                    let mut low = [0u8; 8];
                    low.copy_from_slice(&raw[..8]);
                    stack.push(Value::Int(i64::from_le_bytes(low)));
                } else {
                    let mut buf = if raw.last().is_some_and(|b| b & 0x80 != 0) { [0xffu8; 8] } else { [0u8; 8] };
                    buf[..n].copy_from_slice(raw);
                    stack.push(Value::Int(i64::from_le_bytes(buf)));
                }
            }
            b'G' => stack.push(Value::Float(f64::from_be_bytes(r.le()?))),
            b'X' => {
                let n = u32::from_le_bytes(r.le()?) as usize;
                let s = r.string(n)?;
                stack.push(Value::Str(s));
            }
            0x8c => {
                let n = r.u8()? as usize;
                let s = r.string(n)?;
                stack.push(Value::Str(s));
            }
            0x8d => {
                let n = u64::from_le_bytes(r.le()?) as usize;
                let s = r.string(n)?;
                stack.push(Value::Str(s));
            }
            b'C' => {
                let n = r.u8()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'B' => {
                let n = u32::from_le_bytes(r.le()?) as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b')' => stack.push(Value::Tuple(Vec::new())),
            b't' => {
                let items = pop_mark(&mut stack, &r)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if stack.len() < n {
                    return Err(r.err("stack underflow"));
                }
                let items = stack.split_off(stack.len() - n);
                stack.push(Value::Tuple(items));
            }
            b']' => stack.push(Value::List(Vec::new())),
            b'l' => {
                let items = pop_mark(&mut stack, &r)?;
                stack.push(Value::List(items));
            }
            b'}' => stack.push(Value::Dict(Vec::new())),
            b'a' => {
                let item = pop(&mut stack, &r)?;
                match top_mut(&mut stack, &r)? {
                    Value::List(items) => items.push(item),
                    _ => return Err(r.err("APPEND to a non-list")),
                }
            }
            b'e' => {
                let new = pop_mark(&mut stack, &r)?;
                match top_mut(&mut stack, &r)? {
                    Value::List(items) => items.extend(new),
                    _ => return Err(r.err("APPENDS to a non-list")),
                }
            }
            b's' => {
                let value = pop(&mut stack, &r)?;
                let key = pop(&mut stack, &r)?;
                match top_mut(&mut stack, &r)? {
                    Value::Dict(items) => items.push((key, value)),
                    _ => return Err(r.err("SETITEM on a non-dict")),
                }
            }
            b'u' => {
                let flat = pop_mark(&mut stack, &r)?;
                if !flat.len().is_multiple_of(2) {
                    return Err(r.err("SETITEMS with an odd number of values"));
                }
                match top_mut(&mut stack, &r)? {
                    Value::Dict(items) => {
                        let mut it = flat.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            items.push((k, v));
                        }
                    }
                    _ => return Err(r.err("SETITEMS on a non-dict")),
                }
            }
            b'q' => {
                let id = r.u8()? as u64;
                memo.insert(id, top_mut(&mut stack, &r)?.clone());
            }
            b'r' => {
                let id = u32::from_le_bytes(r.le()?) as u64;
                memo.insert(id, top_mut(&mut stack, &r)?.clone());
            }
            0x94 => {
                let id = memo.len() as u64;
                memo.insert(id, top_mut(&mut stack, &r)?.clone());
            }
            b'h' => {
                let id = r.u8()? as u64;
                stack.push(memo.get(&id).cloned().ok_or_else(|| r.err(format!("memo {id} unset")))?);
            }
            b'j' => {
                let id = u32::from_le_bytes(r.le()?) as u64;
                stack.push(memo.get(&id).cloned().ok_or_else(|| r.err(format!("memo {id} unset")))?);
            }
            b'c' => {
                let module = r.line()?.to_string();
                let name = r.line()?;
                stack.push(global(&r, &module, name)?);
            }
            0x93 => {
                let name = pop(&mut stack, &r)?;
                let module = pop(&mut stack, &r)?;
                match (module, name) {
                    (Value::Str(m), Value::Str(n)) => stack.push(global(&r, &m, &n)?),
                    _ => return Err(r.err("STACK_GLOBAL needs two strings")),
                }
            }
            b'Q' => {
                let pid = pop(&mut stack, &r)?;
                stack.push(persistent_load(&r, pid)?);
            }
            b'R' => {
                let args = pop(&mut stack, &r)?;
                let callable = pop(&mut stack, &r)?;
                stack.push(reduce(&r, callable, args)?);
            }
            b'b' => {
                // BUILD sets an object's state (an OrderedDict's `_metadata`): nothing we need.
                pop(&mut stack, &r)?;
                top_mut(&mut stack, &r)?;
            }
            other => return Err(r.err(format!("unsupported pickle opcode 0x{other:02x}"))),
        }
    }
}

fn global(r: &Reader, module: &str, name: &str) -> Result<Value, GeneratorError> {
    let full = format!("{module}.{name}");
    let storage = module == "torch" && StorageType::from_name(name).is_some();
    if storage || ALLOWED_GLOBALS.contains(&full.as_str()) {
        Ok(Value::Global(full))
    } else {
        Err(GeneratorError::UnsafePickle { source_name: r.source.to_string(), global: full })
    }
}

fn persistent_load(r: &Reader, pid: Value) -> Result<Value, GeneratorError> {
    let Value::Tuple(items) = pid else { return Err(r.err("persistent id is not a tuple")) };
    match items.as_slice() {
        [Value::Str(kind), Value::Global(class), Value::Str(key), _location, numel, ..] if kind == "storage" => {
            let dtype = class
                .strip_prefix("torch.")
                .and_then(StorageType::from_name)
                .ok_or_else(|| r.err(format!("unknown storage type {class}")))?;
            let numel = as_usize(numel).ok_or_else(|| r.err("storage size is not a count"))?;
            Ok(Value::Storage(StorageRef { dtype, key: key.clone(), numel }))
        }
        _ => Err(r.err("persistent id is not a tensor storage")),
    }
}

fn reduce(r: &Reader, callable: Value, args: Value) -> Result<Value, GeneratorError> {
    let Value::Global(name) = callable else { return Err(r.err("REDUCE on a value that is not a callable")) };
    let Value::Tuple(args) = args else { return Err(r.err("REDUCE arguments are not a tuple")) };
    match name.as_str() {
        "collections.OrderedDict" => Ok(Value::Dict(Vec::new())),
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let (storage, offset, shape, stride) = match args.as_slice() {
                [Value::Storage(s), offset, shape, stride, ..] => (s.clone(), offset, shape, stride),
                _ => return Err(r.err("malformed tensor record")),
            };
            let offset = as_usize(offset).ok_or_else(|| r.err("tensor offset is not a count"))?;
            let shape = as_usizes(shape).ok_or_else(|| r.err("tensor shape is not a tuple of counts"))?;
            let stride = as_usizes(stride).ok_or_else(|| r.err("tensor stride is not a tuple of counts"))?;
            if shape.len() != stride.len() {
                return Err(r.err("tensor shape and stride differ in rank"));
            }
            Ok(Value::Tensor(TensorRef { storage, offset, shape, stride }))
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            args.into_iter().next().ok_or_else(|| r.err("parameter without data"))
        }
        other => Err(GeneratorError::UnsafePickle { source_name: r.source.to_string(), global: other.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_os_system() {
        // pickle.dumps of a __reduce__ returning (os.system, ("echo pwned",)), protocol 2.
        let bytes = b"\x80\x02cposix\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.";
        let err = parse(bytes, "evil.pth").unwrap_err();
        assert!(err.to_string().contains("posix.system"), "{err}");
    }

    #[test]
    fn reads_containers_and_numbers() {
        // pickle.dumps({'a': [1, -2, 300, 70000], 'b': (1.5, None, True)}, protocol=2)
        let bytes = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffM,\x01J\x70\x11\x01\x00eX\x01\x00\x00\x00bq\x03G?\xf8\x00\x00\x00\x00\x00\x00N\x88\x87q\x04u.";
        let (value, used) = parse(bytes, "t").unwrap();
        assert_eq!(used, bytes.len());
        let Value::Dict(items) = value else { panic!() };
        assert_eq!(items[0].1, Value::List(vec![Value::Int(1), Value::Int(-2), Value::Int(300), Value::Int(70000)]));
        assert_eq!(items[1].1, Value::Tuple(vec![Value::Float(1.5), Value::None, Value::Bool(true)]));
    }

    #[test]
    fn truncated_is_an_error() {
        let err = parse(b"\x80\x02}q\x00(X\x01\x00", "cut.pth").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
