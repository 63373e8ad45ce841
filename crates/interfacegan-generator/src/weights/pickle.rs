//! A pickle reader for weight files that builds values and never executes anything.
//!
//! `torch.save` and NVIDIA's network pickles call only a handful of constructors: containers
//! (`collections.OrderedDict`, EasyDict), the tensor and storage rebuild functions, numpy scalars,
//! dtypes and arrays, and `torch_utils.persistence._reconstruct_persistent_obj`, whose argument
//! carries a module's *source code* and its `__dict__`. We interpret exactly those symbolically —
//! a persistent object becomes a plain record of its class name and state, its source is never
//! looked at — and refuse every other global, so a malicious file is an error, not code execution.
//!
//! Invariants that bound memory and time by the file's size: every compound value lives once in
//! an arena and is referred to by index, so a memo GET or a repeated reference copies nothing;
//! strings and bytes borrow from the input; each opcode adds at most one arena node and one stack
//! entry. Readers of the result walk it with a depth limit ([`MAX_DEPTH`]), which also stops cycles.

use crate::error::GeneratorError;

/// Deepest nesting a reader of a parsed pickle follows (NVIDIA's module trees need about 30).
pub(crate) const MAX_DEPTH: usize = 256;

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

    /// The type a tensor of this storage reports.
    pub(crate) fn file_dtype(self) -> super::FileDtype {
        match self {
            Self::F32 => super::FileDtype::F32,
            Self::F64 => super::FileDtype::F64,
            Self::F16 => super::FileDtype::F16,
            Self::BF16 => super::FileDtype::BF16,
            _ => super::FileDtype::Integer,
        }
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

/// A storage named by a persistent id. Its bytes live outside the pickle (a zip entry, the tail
/// of a legacy file), or, for `torch.storage._load_from_bytes`, inside it (`inline`: the bytes and
/// whether they are little-endian).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StorageRef<'a> {
    pub dtype: StorageType,
    pub key: String,
    pub numel: usize,
    pub inline: Option<(&'a [u8], bool)>,
}

/// A tensor: a strided view into a storage.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TensorRef<'a> {
    pub storage: StorageRef<'a>,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

/// Index of a compound value in the arena.
pub(crate) type NodeId = usize;

/// A value on the stack or inside a container: scalars inline, everything else by reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Node(NodeId),
}

/// The compound values a weight pickle can build.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node<'a> {
    Tuple(Vec<Value<'a>>),
    List(Vec<Value<'a>>),
    Dict(Vec<(Value<'a>, Value<'a>)>),
    Set(Vec<Value<'a>>),
    /// An allowed callable, `module.name`.
    Global(String),
    Storage(StorageRef<'a>),
    Tensor(TensorRef<'a>),
    /// A `torch_utils.persistence` object: its class name and its `__dict__` (a dict value).
    Persistent {
        class_name: String,
        state: Value<'a>,
    },
    /// A numpy dtype: its type string (`f8`, `i8`, `b1`, ...) and byte order (`<`, `>`, `|`, `=`).
    Dtype {
        name: String,
        order: char,
    },
    /// A numpy array after BUILD: shape, dtype node and raw bytes (C order).
    NdArray {
        shape: Vec<usize>,
        dtype: Option<NodeId>,
        data: &'a [u8],
    },
}

/// A parsed pickle: the arena and the root value.
#[derive(Debug)]
pub(crate) struct Pickle<'a> {
    nodes: Vec<Node<'a>>,
    pub root: Value<'a>,
    /// Bytes read: bounds the entries any container holds, and so the work of a walk over them.
    len: usize,
}

impl<'a> Pickle<'a> {
    /// The node a value refers to, if any.
    pub fn node(&self, value: Value<'a>) -> Option<&Node<'a>> {
        match value {
            Value::Node(id) => self.nodes.get(id),
            _ => None,
        }
    }

    /// The items of a dict value.
    pub fn dict(&self, value: Value<'a>) -> Option<&[(Value<'a>, Value<'a>)]> {
        match self.node(value)? {
            Node::Dict(items) => Some(items),
            _ => None,
        }
    }

    /// The items of a tuple or list value.
    pub fn sequence(&self, value: Value<'a>) -> Option<&[Value<'a>]> {
        match self.node(value)? {
            Node::Tuple(items) | Node::List(items) => Some(items),
            _ => None,
        }
    }

    /// A budget for walking this pickle: each value visited costs one. A walk that visits every
    /// entry once needs at most one per byte; following a container referenced many times (a
    /// "nesting bomb": k references per level, n levels) needs k^n and runs out.
    pub fn walk_budget(&self) -> WalkBudget {
        WalkBudget { left: 2 * self.len + 4096 }
    }

    /// The value under string key `key` of a dict value.
    pub fn get(&self, dict: Value<'a>, key: &str) -> Option<Value<'a>> {
        self.dict(dict)?.iter().find(|(k, _)| *k == Value::Str(key)).map(|(_, v)| *v)
    }
}

/// See [`Pickle::walk_budget`].
pub(crate) struct WalkBudget {
    left: usize,
}

impl WalkBudget {
    /// Spends one visit; fails naming `source` when none is left.
    pub fn spend(&mut self, source: &str) -> Result<(), GeneratorError> {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(crate::error::format_error(
                source,
                "containers are referenced so often that walking them would not end (a nesting bomb)",
            )),
        }
    }
}

/// Reads pickles from a byte buffer.
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

    /// A length prefix of `N` little-endian bytes (a u64 that does not fit usize is "truncated").
    fn len<const N: usize>(&mut self) -> Result<usize, GeneratorError> {
        let mut buf = [0u8; 8];
        buf[..N].copy_from_slice(&self.le::<N>()?);
        usize::try_from(u64::from_le_bytes(buf)).map_err(|_| self.err("truncated"))
    }

    fn line(&mut self) -> Result<&'a str, GeneratorError> {
        let rest = &self.bytes[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| self.err("unterminated text line"))?;
        self.pos += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| self.err("text line is not UTF-8"))
    }

    fn string(&mut self, len: usize) -> Result<&'a str, GeneratorError> {
        let raw = self.take(len)?;
        std::str::from_utf8(raw).map_err(|_| self.err("string is not UTF-8"))
    }
}

/// The interpreter's state while reading one pickle.
struct Machine<'a> {
    r: Reader<'a>,
    nodes: Vec<Node<'a>>,
    stack: Vec<Value<'a>>,
    /// Positions of MARKs on the stack.
    marks: Vec<usize>,
    memo: std::collections::HashMap<u32, Value<'a>>,
    /// Whether this pickle is an embedded storage blob, which may not embed another.
    nested: bool,
}

impl<'a> Machine<'a> {
    fn add(&mut self, node: Node<'a>) -> Value<'a> {
        self.nodes.push(node);
        Value::Node(self.nodes.len() - 1)
    }

    fn push_node(&mut self, node: Node<'a>) {
        let v = self.add(node);
        self.stack.push(v);
    }

    /// The top of the stack above the last MARK (what Python's unpickler sees as its stack).
    fn top(&self) -> Result<Value<'a>, GeneratorError> {
        match self.stack.last() {
            Some(&v) if self.marks.last() != Some(&self.stack.len()) => Ok(v),
            _ => Err(self.r.err("stack underflow")),
        }
    }

    fn pop(&mut self) -> Result<Value<'a>, GeneratorError> {
        let top = self.top()?;
        self.stack.pop();
        Ok(top)
    }

    fn pop_mark(&mut self) -> Result<Vec<Value<'a>>, GeneratorError> {
        let at = self.marks.pop().ok_or_else(|| self.r.err("MARK missing"))?;
        Ok(self.stack.split_off(at))
    }

    fn top_node(&mut self) -> Result<&mut Node<'a>, GeneratorError> {
        match self.top()? {
            Value::Node(id) => Ok(&mut self.nodes[id]),
            _ => Err(self.r.err("expected a container on the stack")),
        }
    }

    fn memo_put(&mut self, id: u32) -> Result<(), GeneratorError> {
        let top = self.top()?;
        self.memo.insert(id, top);
        Ok(())
    }

    fn memo_get(&mut self, id: u32) -> Result<(), GeneratorError> {
        let v = *self.memo.get(&id).ok_or_else(|| self.r.err(format!("memo {id} unset")))?;
        self.stack.push(v);
        Ok(())
    }

    fn int(&mut self, v: i64) {
        self.stack.push(Value::Int(v));
    }

    /// Runs to STOP and returns the root value.
    fn run(&mut self) -> Result<Value<'a>, GeneratorError> {
        loop {
            let op = self.r.u8()?;
            if let Some(root) = self.step(op)? {
                return Ok(root);
            }
        }
    }

    /// Runs one opcode; the value of the pickle when it is STOP.
    fn step(&mut self, op: u8) -> Result<Option<Value<'a>>, GeneratorError> {
        if op == b'.' {
            return self.pop().map(Some);
        }
        if self.scalar_op(op)? || self.container_op(op)? || self.memo_op(op)? || self.object_op(op)? {
            return Ok(None);
        }
        Err(self.r.err(format!("unsupported pickle opcode 0x{op:02x}")))
    }

    /// The protocol, frame and mark opcodes and those that push a scalar; false when `op` is not one of them.
    fn scalar_op(&mut self, op: u8) -> Result<bool, GeneratorError> {
        match op {
            0x80 => {
                let proto = self.r.u8()?;
                if proto > 5 {
                    return Err(self.r.err(format!("pickle protocol {proto} is not supported")));
                }
            }
            0x95 => {
                self.r.le::<8>()?; // FRAME: a length hint only
            }
            b'(' => self.marks.push(self.stack.len()),
            b'N' => self.stack.push(Value::None),
            0x88 => self.stack.push(Value::Bool(true)),
            0x89 => self.stack.push(Value::Bool(false)),
            b'J' => {
                let v = i32::from_le_bytes(self.r.le()?);
                self.int(v as i64)
            }
            b'K' => {
                let v = self.r.u8()?;
                self.int(v as i64)
            }
            b'M' => {
                let v = u16::from_le_bytes(self.r.le()?);
                self.int(v as i64)
            }
            0x8a => self.long1()?,
            b'G' => self.stack.push(Value::Float(f64::from_be_bytes(self.r.le()?))),
            b'X' => self.text::<4>()?,
            0x8c => self.text::<1>()?,
            0x8d => self.text::<8>()?,
            b'C' => self.bytes::<1>()?,
            b'B' => self.bytes::<4>()?,
            0x8e => self.bytes::<8>()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The opcodes that build tuples, lists, dicts and sets; false when `op` is not one of them.
    fn container_op(&mut self, op: u8) -> Result<bool, GeneratorError> {
        match op {
            b')' => self.push_node(Node::Tuple(Vec::new())),
            b't' => {
                let items = self.pop_mark()?;
                self.push_node(Node::Tuple(items));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let floor = self.marks.last().copied().unwrap_or(0);
                if self.stack.len() < floor + n {
                    return Err(self.r.err("stack underflow"));
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push_node(Node::Tuple(items));
            }
            b']' => self.push_node(Node::List(Vec::new())),
            b'l' => {
                let items = self.pop_mark()?;
                self.push_node(Node::List(items));
            }
            b'}' => self.push_node(Node::Dict(Vec::new())),
            0x8f => self.push_node(Node::Set(Vec::new())),
            b'a' => {
                let item = self.pop()?;
                self.extend(vec![item])?;
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                self.extend(items)?;
            }
            0x91 => {
                let items = self.pop_mark()?;
                self.push_node(Node::Set(items));
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.set_items(vec![key, value])?;
            }
            b'u' => {
                let flat = self.pop_mark()?;
                self.set_items(flat)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The memo opcodes; false when `op` is not one of them.
    fn memo_op(&mut self, op: u8) -> Result<bool, GeneratorError> {
        match op {
            b'q' => {
                let id = self.r.u8()? as u32;
                self.memo_put(id)?;
            }
            b'r' => {
                let id = u32::from_le_bytes(self.r.le()?);
                self.memo_put(id)?;
            }
            0x94 => {
                let id = u32::try_from(self.memo.len()).map_err(|_| self.r.err("memo overflow"))?;
                self.memo_put(id)?;
            }
            b'h' => {
                let id = self.r.u8()? as u32;
                self.memo_get(id)?;
            }
            b'j' => {
                let id = u32::from_le_bytes(self.r.le()?);
                self.memo_get(id)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The opcodes that make objects: globals, persistent ids, calls and BUILD; false when `op` is not one of them.
    fn object_op(&mut self, op: u8) -> Result<bool, GeneratorError> {
        match op {
            b'c' => {
                let module = self.r.line()?;
                let name = self.r.line()?;
                let g = global(&self.r, module, name)?;
                self.push_node(g);
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::Str(m), Value::Str(n)) = (module, name) else {
                    return Err(self.r.err("STACK_GLOBAL needs two strings"));
                };
                let g = global(&self.r, m, n)?;
                self.push_node(g);
            }
            b'Q' => {
                let pid = self.pop()?;
                let storage = self.persistent_load(pid)?;
                self.push_node(storage);
            }
            b'R' | 0x81 => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let v = self.reduce(callable, args)?;
                self.stack.push(v);
            }
            b'b' => {
                let state = self.pop()?;
                self.build(state)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn long1(&mut self) -> Result<(), GeneratorError> {
        let n = self.r.u8()? as usize;
        let raw = self.r.take(n)?;
        let value = if n > 8 {
            // Only the legacy format's magic number is this long; keep its low bits.
            i64::from_le_bytes(raw[..8].try_into().expect("8 bytes"))
        } else {
            let mut buf = if raw.last().is_some_and(|b| b & 0x80 != 0) { [0xffu8; 8] } else { [0u8; 8] };
            buf[..n].copy_from_slice(raw);
            i64::from_le_bytes(buf)
        };
        self.int(value);
        Ok(())
    }

    fn text<const N: usize>(&mut self) -> Result<(), GeneratorError> {
        let n = self.r.len::<N>()?;
        let s = self.r.string(n)?;
        self.stack.push(Value::Str(s));
        Ok(())
    }

    fn bytes<const N: usize>(&mut self) -> Result<(), GeneratorError> {
        let n = self.r.len::<N>()?;
        let b = self.r.take(n)?;
        self.stack.push(Value::Bytes(b));
        Ok(())
    }

    fn extend(&mut self, new: Vec<Value<'a>>) -> Result<(), GeneratorError> {
        match self.top_node()? {
            Node::List(items) | Node::Set(items) => {
                items.extend(new);
                Ok(())
            }
            _ => Err(self.r.err("APPEND/ADDITEMS to a value that is not a list or set")),
        }
    }

    fn set_items(&mut self, flat: Vec<Value<'a>>) -> Result<(), GeneratorError> {
        if !flat.len().is_multiple_of(2) {
            return Err(self.r.err("SETITEMS with an odd number of values"));
        }
        match self.top_node()? {
            Node::Dict(items) => {
                items.extend(flat.chunks_exact(2).map(|kv| (kv[0], kv[1])));
                Ok(())
            }
            _ => Err(self.r.err("SETITEM on a value that is not a dict")),
        }
    }

    fn sequence(&self, value: Value<'a>) -> Option<&[Value<'a>]> {
        match value {
            Value::Node(id) => match &self.nodes[id] {
                Node::Tuple(items) | Node::List(items) => Some(items),
                _ => None,
            },
            _ => None,
        }
    }

    fn global_name(&self, value: Value<'a>) -> Option<&str> {
        match value {
            Value::Node(id) => match &self.nodes[id] {
                Node::Global(name) => Some(name),
                _ => None,
            },
            _ => None,
        }
    }

    fn persistent_load(&mut self, pid: Value<'a>) -> Result<Node<'a>, GeneratorError> {
        let items = self.sequence(pid).ok_or_else(|| self.r.err("persistent id is not a tuple"))?;
        match items {
            [Value::Str("storage"), class, Value::Str(key), _location, Value::Int(numel), ..] => {
                let dtype = self
                    .global_name(*class)
                    .and_then(|c| c.strip_prefix("torch."))
                    .and_then(StorageType::from_name)
                    .ok_or_else(|| self.r.err("unknown storage type"))?;
                let numel = usize::try_from(*numel).map_err(|_| self.r.err("storage size is not a count"))?;
                let key = key.to_string();
                Ok(Node::Storage(StorageRef { dtype, key, numel, inline: None }))
            }
            _ => Err(self.r.err("persistent id is not a tensor storage")),
        }
    }

    fn reduce(&mut self, callable: Value<'a>, args: Value<'a>) -> Result<Value<'a>, GeneratorError> {
        let name = self.global_name(callable).ok_or_else(|| self.r.err("REDUCE on a value that is not a callable"))?;
        let name = name.to_string();
        let args = self.sequence(args).ok_or_else(|| self.r.err("REDUCE arguments are not a tuple"))?.to_vec();
        Ok(match name.as_str() {
            "collections.OrderedDict" | "dnnlib.util.EasyDict" | "dnnlib.EasyDict" | "argparse.Namespace" => {
                self.add(Node::Dict(Vec::new()))
            }
            "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => self.rebuild_tensor(&args)?,
            "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
                *args.first().ok_or_else(|| self.r.err("parameter without data"))?
            }
            "torch.storage._load_from_bytes" if self.nested => {
                return Err(self.r.err("an embedded storage inside an embedded storage"));
            }
            "torch.storage._load_from_bytes" => match args.as_slice() {
                [Value::Bytes(blob)] => {
                    let storage = inline_storage(blob, self.r.source)?;
                    self.add(Node::Storage(storage))
                }
                _ => return Err(self.r.err("_load_from_bytes without a bytes argument")),
            },
            "torch_utils.persistence._reconstruct_persistent_obj" => self.persistent_object(&args)?,
            "numpy.dtype" => match args.first() {
                Some(Value::Str(name)) => self.add(Node::Dtype { name: name.to_string(), order: '=' }),
                _ => return Err(self.r.err("numpy.dtype without a type string")),
            },
            "numpy.core.multiarray.scalar" | "numpy._core.multiarray.scalar" => self.numpy_scalar(&args)?,
            "numpy.core.multiarray._reconstruct" | "numpy._core.multiarray._reconstruct" => {
                self.add(Node::NdArray { shape: Vec::new(), dtype: None, data: &[] })
            }
            other => {
                return Err(GeneratorError::UnsafePickle {
                    source_name: self.r.source.to_string(),
                    global: other.to_string(),
                });
            }
        })
    }

    fn rebuild_tensor(&mut self, args: &[Value<'a>]) -> Result<Value<'a>, GeneratorError> {
        let [Value::Node(storage), offset, shape, stride, ..] = args else {
            return Err(self.r.err("malformed tensor record"));
        };
        let Node::Storage(storage) = &self.nodes[*storage] else { return Err(self.r.err("tensor without a storage")) };
        let storage = storage.clone();
        let count = |v: &Value| match v {
            Value::Int(i) => usize::try_from(*i).ok(),
            _ => None,
        };
        let counts = |v: Value<'a>| self.sequence(v).and_then(|items| items.iter().map(count).collect());
        let offset = count(offset).ok_or_else(|| self.r.err("tensor offset is not a count"))?;
        let shape: Vec<usize> = counts(*shape).ok_or_else(|| self.r.err("tensor shape is not a tuple of counts"))?;
        let stride: Vec<usize> = counts(*stride).ok_or_else(|| self.r.err("tensor stride is not a tuple of counts"))?;
        if shape.len() != stride.len() {
            return Err(self.r.err("tensor shape and stride differ in rank"));
        }
        Ok(self.add(Node::Tensor(TensorRef { storage, offset, shape, stride })))
    }

    fn persistent_object(&mut self, args: &[Value<'a>]) -> Result<Value<'a>, GeneratorError> {
        let meta = *args.first().ok_or_else(|| self.r.err("persistent object without its record"))?;
        let Value::Node(id) = meta else { return Err(self.r.err("persistent object record is not a dict")) };
        let Node::Dict(items) = &self.nodes[id] else {
            return Err(self.r.err("persistent object record is not a dict"));
        };
        let field = |key: &str| items.iter().find(|(k, _)| *k == Value::Str(key)).map(|(_, v)| *v);
        match field("type") {
            Some(Value::Str("class")) => {}
            _ => return Err(self.r.err("persistent object of a type other than `class`")),
        }
        let Some(Value::Str(class_name)) = field("class_name") else {
            return Err(self.r.err("persistent object without a class name"));
        };
        let state = field("state").ok_or_else(|| self.r.err("persistent object without a state"))?;
        let class_name = class_name.to_string();
        Ok(self.add(Node::Persistent { class_name, state }))
    }

    fn numpy_scalar(&mut self, args: &[Value<'a>]) -> Result<Value<'a>, GeneratorError> {
        let [Value::Node(dtype), Value::Bytes(raw)] = args else {
            return Err(self.r.err("numpy scalar without a dtype and bytes"));
        };
        let Node::Dtype { name, order } = &self.nodes[*dtype] else {
            return Err(self.r.err("numpy scalar without a dtype"));
        };
        decode_scalar(name, *order, raw).ok_or_else(|| self.r.err(format!("numpy scalar of type {name} not read")))
    }

    fn build(&mut self, state: Value<'a>) -> Result<(), GeneratorError> {
        let Value::Node(id) = self.top()? else { return Err(self.r.err("BUILD on a plain value")) };
        let items = self.sequence(state).map(<[_]>::to_vec);
        match &self.nodes[id] {
            // numpy's dtype state: (version, byte order, ...).
            Node::Dtype { name, .. } => {
                if let Some([_, Value::Str(o), ..]) = items.as_deref() {
                    let name = name.clone();
                    self.nodes[id] = Node::Dtype { name, order: o.chars().next().unwrap_or('=') };
                }
            }
            // ndarray state: (version, shape, dtype, is_fortran, raw bytes), C order only.
            Node::NdArray { .. } => {
                let err = || self.r.err("malformed numpy array state");
                let Some([_, shape, Value::Node(dtype), Value::Bool(false), Value::Bytes(data)]) = items.as_deref()
                else {
                    return Err(err());
                };
                let count = |v: &Value| match v {
                    Value::Int(i) => usize::try_from(*i).ok(),
                    _ => None,
                };
                let shape = self.sequence(*shape).and_then(|s| s.iter().map(count).collect()).ok_or_else(err)?;
                self.nodes[id] = Node::NdArray { shape, dtype: Some(*dtype), data };
            }
            // OrderedDict `_metadata`, EasyDict's empty state: nothing we need.
            _ => {}
        }
        Ok(())
    }
}

/// The byte size of one numpy element of dtype `name`, for the dtypes [`decode_scalar`] reads.
pub(crate) fn numpy_item_size(name: &str) -> Option<usize> {
    match name {
        "f8" | "i8" | "u8" => Some(8),
        "f4" | "i4" | "u4" => Some(4),
        "b1" | "?" => Some(1),
        _ => None,
    }
}

/// The value of a numpy scalar of dtype `name` (`f8`, `f4`, `i8`, `b1`, ...) stored as `raw`.
pub(crate) fn decode_scalar<'a>(name: &str, order: char, raw: &[u8]) -> Option<Value<'a>> {
    let size = numpy_item_size(name).filter(|&n| n == raw.len())?;
    let mut b = [0u8; 8];
    b[..size].copy_from_slice(raw);
    if order == '>' {
        b[..size].reverse();
    }
    let word = |n: usize| -> [u8; 4] { b[..n].try_into().expect("4 bytes") };
    Some(match name {
        "f8" => Value::Float(f64::from_le_bytes(b)),
        "f4" => Value::Float(f32::from_le_bytes(word(4)) as f64),
        "i8" | "u8" => Value::Int(i64::from_le_bytes(b)),
        "i4" => Value::Int(i32::from_le_bytes(word(4)) as i64),
        "u4" => Value::Int(u32::from_le_bytes(word(4)) as i64),
        _ => Value::Bool(b[0] != 0),
    })
}

/// The callables we interpret. The rest are refused before anything could call them.
const ALLOWED_GLOBALS: &[&str] = &[
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch.storage._load_from_bytes",
    "torch_utils.persistence._reconstruct_persistent_obj",
    "dnnlib.util.EasyDict",
    "dnnlib.EasyDict",
    "argparse.Namespace",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
];

fn global<'a>(r: &Reader, module: &str, name: &str) -> Result<Node<'a>, GeneratorError> {
    let full = format!("{module}.{name}");
    let storage = module == "torch" && StorageType::from_name(name).is_some();
    if storage || ALLOWED_GLOBALS.contains(&full.as_str()) {
        return Ok(Node::Global(full));
    }
    if module.starts_with("dnnlib.tflib") {
        return Err(crate::error::format_error(
            r.source,
            "a TensorFlow-era StyleGAN pickle (dnnlib.tflib networks): convert it first with NVIDIA's \
             `legacy.py` from stylegan2-ada-pytorch or stylegan3 (`python legacy.py --source=OLD.pkl --dest=NEW.pkl`)",
        ));
    }
    Err(GeneratorError::UnsafePickle { source_name: r.source.to_string(), global: full })
}

/// Reads one pickle from `bytes`, returning it and the number of bytes it used.
pub(crate) fn parse<'a>(bytes: &'a [u8], source: &'a str) -> Result<(Pickle<'a>, usize), GeneratorError> {
    parse_nested(bytes, source, false)
}

/// [`parse`] of a top-level file or of a blob embedded in a pickle (`nested`).
fn parse_nested<'a>(bytes: &'a [u8], source: &'a str, nested: bool) -> Result<(Pickle<'a>, usize), GeneratorError> {
    let mut m = Machine {
        r: Reader { bytes, pos: 0, source },
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Default::default(),
        nested,
    };
    let root = m.run()?;
    Ok((Pickle { nodes: m.nodes, root, len: m.r.pos }, m.r.pos))
}

/// The bytes that open every legacy `torch.save` stream: protocol 2, then the magic number as LONG1.
pub(crate) const LEGACY_PREFIX: &[u8] = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.";

/// The magic number that opens a legacy (pre-zip) `torch.save` stream.
pub(crate) const LEGACY_MAGIC: i64 = 0x1950a86a20f9469cfc6cu128 as i64;

/// The pickles that open a legacy `torch.save` stream: the root value, the storage keys, where the
/// raw storages start, and their byte order.
pub(crate) struct LegacyHeader<'a> {
    pub root: Pickle<'a>,
    pub keys: Vec<&'a str>,
    pub data_start: usize,
    pub little_endian: bool,
}

impl LegacyHeader<'_> {
    /// The raw storage at `pos` of `bytes` (the stream the header opens): an element count in the
    /// stream's byte order, then that many elements of `element_size` bytes. Returns the count, the
    /// elements' bytes and where the next storage starts; `None` when the stream ends before them.
    pub fn storage_at<'b>(&self, bytes: &'b [u8], pos: usize, element_size: usize) -> Option<(u64, &'b [u8], usize)> {
        let count: [u8; 8] = bytes.get(pos..pos.checked_add(8)?)?.try_into().expect("8 bytes");
        let count = if self.little_endian { u64::from_le_bytes(count) } else { u64::from_be_bytes(count) };
        let len = usize::try_from(count).ok()?.checked_mul(element_size)?;
        let data = bytes.get(pos + 8..(pos + 8).checked_add(len)?)?;
        Some((count, data, pos + 8 + len))
    }
}

/// Reads a legacy stream's magic, protocol, system info, main pickle and key list.
pub(crate) fn legacy_header<'a>(bytes: &'a [u8], source: &'a str) -> Result<LegacyHeader<'a>, GeneratorError> {
    legacy_header_of(bytes, source, false)
}

/// [`legacy_header`] of a top-level file or of a blob embedded in a pickle (`nested`).
fn legacy_header_of<'a>(bytes: &'a [u8], source: &'a str, nested: bool) -> Result<LegacyHeader<'a>, GeneratorError> {
    let fail = |reason: &str| crate::error::format_error(source, reason.to_string());
    let mut pos = 0;
    let next = |pos: &mut usize| -> Result<Pickle<'a>, GeneratorError> {
        let (value, used) = parse_nested(&bytes[*pos..], source, nested)?;
        *pos += used;
        Ok(value)
    };
    if next(&mut pos)?.root != Value::Int(LEGACY_MAGIC) {
        return Err(fail(
            "a pickle, but not a PyTorch checkpoint (no legacy magic number); whole pickled Python objects are not read",
        ));
    }
    match next(&mut pos)?.root {
        Value::Int(1001) => {}
        other => return Err(fail(&format!("unsupported legacy protocol version {other:?}"))),
    }
    let info = next(&mut pos)?;
    let little_endian = info.get(info.root, "little_endian") != Some(Value::Bool(false));
    let root = next(&mut pos)?;
    let key_list = next(&mut pos)?;
    let keys = key_list
        .sequence(key_list.root)
        .ok_or_else(|| fail("legacy checkpoint without its list of storage keys"))?
        .iter()
        .map(|k| match k {
            Value::Str(s) => Ok(*s),
            _ => Err(fail("storage key is not a string")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LegacyHeader { root, keys, data_start: pos, little_endian })
}

/// `torch.storage._load_from_bytes(blob)`: the blob is a legacy `torch.save` of one storage.
fn inline_storage<'a>(blob: &'a [u8], source: &'a str) -> Result<StorageRef<'a>, GeneratorError> {
    let fail = |reason: String| crate::error::format_error(source, format!("embedded storage: {reason}"));
    let header = legacy_header_of(blob, source, true)?;
    let Some(Node::Storage(storage)) = header.root.node(header.root.root) else {
        return Err(fail("the blob does not hold a storage".into()));
    };
    if header.keys != [storage.key.as_str()] {
        return Err(fail("the blob's key list does not name its one storage".into()));
    }
    let data = header
        .storage_at(blob, header.data_start, storage.dtype.size())
        .filter(|&(count, _, _)| count == storage.numel as u64)
        .map(|(_, data, _)| data)
        .ok_or_else(|| fail(format!("its elements do not fit the blob or its record of {}", storage.numel)))?;
    Ok(StorageRef { inline: Some((data, header.little_endian)), ..storage.clone() })
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
        let (p, used) = parse(bytes, "t").unwrap();
        assert_eq!(used, bytes.len());
        let a = p.get(p.root, "a").unwrap();
        assert_eq!(p.sequence(a).unwrap(), [Value::Int(1), Value::Int(-2), Value::Int(300), Value::Int(70000)]);
        let b = p.get(p.root, "b").unwrap();
        assert_eq!(p.sequence(b).unwrap(), [Value::Float(1.5), Value::None, Value::Bool(true)]);
    }

    #[test]
    fn memo_refers_to_the_same_container() {
        // x = []; pickle.dumps([x, x]) after x.append(1): the memoised list is filled after MEMOIZE,
        // and the second reference must see the item (a copy taken at MEMOIZE would be empty).
        let bytes = b"\x80\x04]\x94(]\x94K\x01ah\x01e.";
        let (p, _) = parse(bytes, "t").unwrap();
        let outer = p.sequence(p.root).unwrap();
        assert_eq!(outer[0], outer[1]);
        assert_eq!(p.sequence(outer[1]).unwrap(), [Value::Int(1)]);
    }

    #[test]
    fn memo_bomb_stays_linear() {
        // Ten levels, each a list holding ten references to the level below: 10^10 leaves if
        // copied, 10 nodes here.
        let mut bytes = b"\x80\x04]\x94".to_vec();
        for level in 0..10u8 {
            bytes.extend_from_slice(b"(");
            for _ in 0..10 {
                bytes.extend_from_slice(&[b'h', level]);
            }
            bytes.extend_from_slice(b"l\x94");
        }
        bytes.push(b'.');
        let (p, _) = parse(&bytes, "bomb").unwrap();
        assert_eq!(p.nodes.len(), 11);
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let depth = 1_000_000;
        let mut bytes = b"\x80\x04".to_vec();
        bytes.extend(std::iter::repeat_n(b'(', depth));
        bytes.extend(std::iter::repeat_n(b'l', depth));
        bytes.push(b'.');
        let (p, _) = parse(&bytes, "deep").unwrap();
        assert_eq!(p.nodes.len(), depth);
    }

    #[test]
    fn walks_of_shared_containers_run_out_of_budget() {
        // Twelve levels, each a list of ten references to the level below: 10^12 visits if followed.
        let mut bytes = b"\x80\x04]\x94".to_vec();
        for level in 0..12u8 {
            bytes.extend_from_slice(b"(");
            bytes.extend(std::iter::repeat_n([b'h', level], 10).flatten());
            bytes.extend_from_slice(b"l\x94");
        }
        bytes.push(b'.');
        let (p, _) = parse(&bytes, "bomb").unwrap();
        let mut budget = p.walk_budget();
        let mut pending = vec![p.root];
        let err = loop {
            let Some(v) = pending.pop() else { panic!("the walk ended") };
            if let Err(e) = budget.spend("bomb") {
                break e;
            }
            pending.extend(p.sequence(v).unwrap_or(&[]));
        };
        assert!(err.to_string().contains("nesting bomb"), "{err}");
    }

    #[test]
    fn embedded_storages_do_not_nest() {
        // _load_from_bytes(<a legacy stream whose root calls _load_from_bytes again>).
        let inner = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.\x80\x02}.\x80\x02ctorch.storage\n_load_from_bytes\nC\x00\x85R.\x80\x02].";
        let mut bytes = b"\x80\x02ctorch.storage\n_load_from_bytes\nB".to_vec();
        bytes.extend((inner.len() as u32).to_le_bytes());
        bytes.extend_from_slice(inner);
        bytes.extend_from_slice(b"\x85R.");
        let err = parse(&bytes, "nested.pkl").unwrap_err();
        assert!(err.to_string().contains("inside an embedded storage"), "{err}");
    }

    #[test]
    fn truncated_is_an_error() {
        let err = parse(b"\x80\x02}q\x00(X\x01\x00", "cut.pth").unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn tensorflow_pickles_name_the_converter() {
        let bytes = b"\x80\x03cdnnlib.tflib.network\nNetwork\nq\x00.";
        let err = parse(bytes, "old.pkl").unwrap_err();
        assert!(err.to_string().contains("legacy.py"), "{err}");
    }
}
