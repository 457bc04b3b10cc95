/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-mixed-operators, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars, default-case, jsdoc/require-param*/
import $protobuf from "protobufjs/minimal.js";

const $Reader = $protobuf.Reader, $Writer = $protobuf.Writer, $util = $protobuf.util;
const $Object = $util.global.Object, $undefined = $util.global.undefined, $Error = $util.global.Error, $RangeError = $util.global.RangeError;

const $root = $protobuf.roots["default"] || ($protobuf.roots["default"] = {});

export const engram = $root.engram = (() => {

    const engram = {};

    engram.v3 = (function() {

        const v3 = {};

        v3.WorkUnitType = (function() {
            const valuesById = $Object.create(null), values = $Object.create(valuesById);
            values[valuesById[0] = "WORK_UNIT_TYPE_UNSPECIFIED"] = 0;
            values[valuesById[1] = "WORK_UNIT_TYPE_MESSAGE"] = 1;
            values[valuesById[2] = "WORK_UNIT_TYPE_REASONING"] = 2;
            values[valuesById[3] = "WORK_UNIT_TYPE_TOOL_CALL"] = 3;
            values[valuesById[4] = "WORK_UNIT_TYPE_TOOL_RESULT"] = 4;
            values[valuesById[5] = "WORK_UNIT_TYPE_FILE_CHANGE"] = 5;
            values[valuesById[6] = "WORK_UNIT_TYPE_TASK_STATUS"] = 6;
            values[valuesById[7] = "WORK_UNIT_TYPE_ERROR"] = 7;
            values[valuesById[8] = "WORK_UNIT_TYPE_SYSTEM"] = 8;
            values[valuesById[9] = "WORK_UNIT_TYPE_SUMMARY"] = 9;
            values[valuesById[10] = "WORK_UNIT_TYPE_APPROVAL_REQUEST"] = 10;
            values[valuesById[11] = "WORK_UNIT_TYPE_APPROVAL_DECISION"] = 11;
            return values;
        })();

        v3.RelationshipType = (function() {
            const valuesById = $Object.create(null), values = $Object.create(valuesById);
            values[valuesById[0] = "RELATIONSHIP_TYPE_UNSPECIFIED"] = 0;
            values[valuesById[1] = "RELATIONSHIP_TYPE_SEQUENTIAL"] = 1;
            values[valuesById[2] = "RELATIONSHIP_TYPE_CAUSES"] = 2;
            values[valuesById[3] = "RELATIONSHIP_TYPE_DEPENDS_ON"] = 3;
            values[valuesById[4] = "RELATIONSHIP_TYPE_REFERENCES"] = 4;
            values[valuesById[5] = "RELATIONSHIP_TYPE_RESPONDS_TO"] = 5;
            values[valuesById[6] = "RELATIONSHIP_TYPE_MODIFIES"] = 6;
            values[valuesById[7] = "RELATIONSHIP_TYPE_REPLACES"] = 7;
            return values;
        })();

        v3.Payload = (function() {

            const Payload = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Payload.prototype.json = null;
            Payload.prototype.binary = null;

            let $oneOfFields;

            $Object.defineProperty(Payload.prototype, "kind", {
                get: $util.oneOfGetter($oneOfFields = ["json", "binary"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            Payload.create = function(properties) {
                return new Payload(properties);
            };

            Payload.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.json != null && $Object.hasOwnProperty.call(message, "json"))
                    writer.uint32(10).string(message.json);
                if (message.binary != null && $Object.hasOwnProperty.call(message, "binary"))
                    $root.engram.v3.BinaryPayload.encode(message.binary, writer.uint32(18).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Payload.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Payload();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            message.json = reader.stringVerify();
                            message.kind = "json";
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            message.binary = $root.engram.v3.BinaryPayload.decode(reader, reader.size(), $undefined, _depth + 1, message.binary);
                            message.kind = "binary";
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Payload.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Payload";
            };

            return Payload;
        })();

        v3.BinaryPayload = (function() {

            const BinaryPayload = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            BinaryPayload.prototype.data = $util.newBuffer([]);
            BinaryPayload.prototype.contentType = "";

            BinaryPayload.create = function(properties) {
                return new BinaryPayload(properties);
            };

            BinaryPayload.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.data != null && $Object.hasOwnProperty.call(message, "data") && message.data.length)
                    writer.uint32(10).bytes(message.data);
                if (message.contentType != null && $Object.hasOwnProperty.call(message, "contentType") && message.contentType !== "")
                    writer.uint32(18).string(message.contentType);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            BinaryPayload.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.BinaryPayload();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.data = value;
                            else
                                delete message.data;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contentType = value;
                            else
                                delete message.contentType;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            BinaryPayload.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.BinaryPayload";
            };

            return BinaryPayload;
        })();

        v3.Relationship = (function() {

            const Relationship = function (properties) {
                this.meta = {};
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Relationship.prototype.targetId = "";
            Relationship.prototype.type = 0;
            Relationship.prototype.meta = $util.emptyObject;

            Relationship.create = function(properties) {
                return new Relationship(properties);
            };

            Relationship.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.targetId != null && $Object.hasOwnProperty.call(message, "targetId") && message.targetId !== "")
                    writer.uint32(10).string(message.targetId);
                if (message.type != null && $Object.hasOwnProperty.call(message, "type") && message.type !== 0)
                    writer.uint32(16).int32(message.type);
                if (message.meta != null && $Object.hasOwnProperty.call(message, "meta"))
                    for (let keys = $Object.keys(message.meta), i = 0; i < keys.length; ++i)
                        writer.uint32(26).fork().uint32(10).string(keys[i]).uint32(18).string(message.meta[keys[i]]).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Relationship.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, key, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Relationship();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.targetId = value;
                            else
                                delete message.targetId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.int32())
                                message.type = value;
                            else
                                delete message.type;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if (message.meta === $util.emptyObject)
                                message.meta = {};
                            let end2 = reader.size() + reader.pos;
                            if (end2 > reader.len)
                                throw $RangeError("index out of range");
                            reader.len = end2;
                            key = "";
                            value = "";
                            while (reader.pos < end2) {
                                let tag2 = reader.tag();
                                wireType = tag2 & 7;
                                switch (tag2 >>>= 3) {
                                case 1:
                                    if (wireType !== 2)
                                        break;
                                    key = reader.stringVerify();
                                    continue;
                                case 2:
                                    if (wireType !== 2)
                                        break;
                                    value = reader.stringVerify();
                                    continue;
                                }
                                reader.skipType(wireType, _depth, tag2);
                            }
                            if (reader.pos !== end2)
                                throw $RangeError("index out of range");
                            reader.len = end;
                            if (key === "__proto__")
                                $util.makeProp(message.meta, key);
                            message.meta[key] = value;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Relationship.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Relationship";
            };

            return Relationship;
        })();

        v3.WorkUnit = (function() {

            const WorkUnit = function (properties) {
                this.meta = {};
                this.relationships = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            WorkUnit.prototype.id = "";
            WorkUnit.prototype.contextId = "";
            WorkUnit.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            WorkUnit.prototype.agentId = "";
            WorkUnit.prototype.type = 0;
            WorkUnit.prototype.ts = null;
            WorkUnit.prototype.meta = $util.emptyObject;
            WorkUnit.prototype.payload = null;
            WorkUnit.prototype.relationships = $util.emptyArray;

            WorkUnit.create = function(properties) {
                return new WorkUnit(properties);
            };

            WorkUnit.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id !== "")
                    writer.uint32(10).string(message.id);
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(18).string(message.contextId);
                if (message.seq != null && $Object.hasOwnProperty.call(message, "seq") && (typeof message.seq === "object" ? message.seq.low || message.seq.high : message.seq !== 0))
                    writer.uint32(24).uint64(message.seq);
                if (message.agentId != null && $Object.hasOwnProperty.call(message, "agentId") && message.agentId !== "")
                    writer.uint32(34).string(message.agentId);
                if (message.type != null && $Object.hasOwnProperty.call(message, "type") && message.type !== 0)
                    writer.uint32(40).int32(message.type);
                if (message.ts != null && $Object.hasOwnProperty.call(message, "ts"))
                    $root.google.protobuf.Timestamp.encode(message.ts, writer.uint32(50).fork(), _depth + 1).ldelim();
                if (message.meta != null && $Object.hasOwnProperty.call(message, "meta"))
                    for (let keys = $Object.keys(message.meta), i = 0; i < keys.length; ++i)
                        writer.uint32(58).fork().uint32(10).string(keys[i]).uint32(18).string(message.meta[keys[i]]).ldelim();
                if (message.payload != null && $Object.hasOwnProperty.call(message, "payload"))
                    $root.engram.v3.Payload.encode(message.payload, writer.uint32(66).fork(), _depth + 1).ldelim();
                if (message.relationships != null && message.relationships.length)
                    for (let i = 0; i < message.relationships.length; ++i)
                        $root.engram.v3.Relationship.encode(message.relationships[i], writer.uint32(74).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            WorkUnit.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, key, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.WorkUnit();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.id = value;
                            else
                                delete message.id;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.seq = value;
                            else
                                delete message.seq;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.agentId = value;
                            else
                                delete message.agentId;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.int32())
                                message.type = value;
                            else
                                delete message.type;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            message.ts = $root.google.protobuf.Timestamp.decode(reader, reader.size(), $undefined, _depth + 1, message.ts);
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            if (message.meta === $util.emptyObject)
                                message.meta = {};
                            let end2 = reader.size() + reader.pos;
                            if (end2 > reader.len)
                                throw $RangeError("index out of range");
                            reader.len = end2;
                            key = "";
                            value = "";
                            while (reader.pos < end2) {
                                let tag2 = reader.tag();
                                wireType = tag2 & 7;
                                switch (tag2 >>>= 3) {
                                case 1:
                                    if (wireType !== 2)
                                        break;
                                    key = reader.stringVerify();
                                    continue;
                                case 2:
                                    if (wireType !== 2)
                                        break;
                                    value = reader.stringVerify();
                                    continue;
                                }
                                reader.skipType(wireType, _depth, tag2);
                            }
                            if (reader.pos !== end2)
                                throw $RangeError("index out of range");
                            reader.len = end;
                            if (key === "__proto__")
                                $util.makeProp(message.meta, key);
                            message.meta[key] = value;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 2)
                                break;
                            message.payload = $root.engram.v3.Payload.decode(reader, reader.size(), $undefined, _depth + 1, message.payload);
                            continue;
                        }
                    case 9: {
                            if (wireType !== 2)
                                break;
                            if (!(message.relationships && message.relationships.length))
                                message.relationships = [];
                            message.relationships.push($root.engram.v3.Relationship.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            WorkUnit.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.WorkUnit";
            };

            return WorkUnit;
        })();

        v3.Fence = (function() {

            const Fence = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Fence.prototype.resource = "";
            Fence.prototype.token = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            Fence.create = function(properties) {
                return new Fence(properties);
            };

            Fence.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.resource != null && $Object.hasOwnProperty.call(message, "resource") && message.resource !== "")
                    writer.uint32(10).string(message.resource);
                if (message.token != null && $Object.hasOwnProperty.call(message, "token") && (typeof message.token === "object" ? message.token.low || message.token.high : message.token !== 0))
                    writer.uint32(16).uint64(message.token);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Fence.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Fence();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.resource = value;
                            else
                                delete message.resource;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.token = value;
                            else
                                delete message.token;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Fence.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Fence";
            };

            return Fence;
        })();

        v3.CreateWorkUnitRequest = (function() {

            const CreateWorkUnitRequest = function (properties) {
                this.meta = {};
                this.relationships = [];
                this.embedding = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            CreateWorkUnitRequest.prototype.contextId = "";
            CreateWorkUnitRequest.prototype.agentId = "";
            CreateWorkUnitRequest.prototype.type = 0;
            CreateWorkUnitRequest.prototype.meta = $util.emptyObject;
            CreateWorkUnitRequest.prototype.payload = null;
            CreateWorkUnitRequest.prototype.relationships = $util.emptyArray;
            CreateWorkUnitRequest.prototype.idempotencyKey = "";
            CreateWorkUnitRequest.prototype.fence = null;
            CreateWorkUnitRequest.prototype.embedding = $util.emptyArray;

            CreateWorkUnitRequest.create = function(properties) {
                return new CreateWorkUnitRequest(properties);
            };

            CreateWorkUnitRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.agentId != null && $Object.hasOwnProperty.call(message, "agentId") && message.agentId !== "")
                    writer.uint32(18).string(message.agentId);
                if (message.type != null && $Object.hasOwnProperty.call(message, "type") && message.type !== 0)
                    writer.uint32(24).int32(message.type);
                if (message.meta != null && $Object.hasOwnProperty.call(message, "meta"))
                    for (let keys = $Object.keys(message.meta), i = 0; i < keys.length; ++i)
                        writer.uint32(34).fork().uint32(10).string(keys[i]).uint32(18).string(message.meta[keys[i]]).ldelim();
                if (message.payload != null && $Object.hasOwnProperty.call(message, "payload"))
                    $root.engram.v3.Payload.encode(message.payload, writer.uint32(42).fork(), _depth + 1).ldelim();
                if (message.relationships != null && message.relationships.length)
                    for (let i = 0; i < message.relationships.length; ++i)
                        $root.engram.v3.Relationship.encode(message.relationships[i], writer.uint32(50).fork(), _depth + 1).ldelim();
                if (message.idempotencyKey != null && $Object.hasOwnProperty.call(message, "idempotencyKey") && message.idempotencyKey !== "")
                    writer.uint32(58).string(message.idempotencyKey);
                if (message.fence != null && $Object.hasOwnProperty.call(message, "fence"))
                    $root.engram.v3.Fence.encode(message.fence, writer.uint32(66).fork(), _depth + 1).ldelim();
                if (message.embedding != null && message.embedding.length)
                    writer.uint32(74).floats(message.embedding);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            CreateWorkUnitRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, key, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.CreateWorkUnitRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.agentId = value;
                            else
                                delete message.agentId;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.int32())
                                message.type = value;
                            else
                                delete message.type;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if (message.meta === $util.emptyObject)
                                message.meta = {};
                            let end2 = reader.size() + reader.pos;
                            if (end2 > reader.len)
                                throw $RangeError("index out of range");
                            reader.len = end2;
                            key = "";
                            value = "";
                            while (reader.pos < end2) {
                                let tag2 = reader.tag();
                                wireType = tag2 & 7;
                                switch (tag2 >>>= 3) {
                                case 1:
                                    if (wireType !== 2)
                                        break;
                                    key = reader.stringVerify();
                                    continue;
                                case 2:
                                    if (wireType !== 2)
                                        break;
                                    value = reader.stringVerify();
                                    continue;
                                }
                                reader.skipType(wireType, _depth, tag2);
                            }
                            if (reader.pos !== end2)
                                throw $RangeError("index out of range");
                            reader.len = end;
                            if (key === "__proto__")
                                $util.makeProp(message.meta, key);
                            message.meta[key] = value;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            message.payload = $root.engram.v3.Payload.decode(reader, reader.size(), $undefined, _depth + 1, message.payload);
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            if (!(message.relationships && message.relationships.length))
                                message.relationships = [];
                            message.relationships.push($root.engram.v3.Relationship.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.idempotencyKey = value;
                            else
                                delete message.idempotencyKey;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 2)
                                break;
                            message.fence = $root.engram.v3.Fence.decode(reader, reader.size(), $undefined, _depth + 1, message.fence);
                            continue;
                        }
                    case 9: {
                            if (wireType === 2) {
                                if (!(message.embedding && message.embedding.length))
                                    message.embedding = [];
                                reader.floats(message.embedding);
                                continue;
                            }
                            if (wireType !== 5)
                                break;
                            if (!(message.embedding && message.embedding.length))
                                message.embedding = [];
                            message.embedding.push(reader.float());
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            CreateWorkUnitRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.CreateWorkUnitRequest";
            };

            return CreateWorkUnitRequest;
        })();

        v3.CreateWorkUnitResponse = (function() {

            const CreateWorkUnitResponse = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            CreateWorkUnitResponse.prototype.workUnit = null;
            CreateWorkUnitResponse.prototype.replayed = false;

            CreateWorkUnitResponse.create = function(properties) {
                return new CreateWorkUnitResponse(properties);
            };

            CreateWorkUnitResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.workUnit != null && $Object.hasOwnProperty.call(message, "workUnit"))
                    $root.engram.v3.WorkUnit.encode(message.workUnit, writer.uint32(10).fork(), _depth + 1).ldelim();
                if (message.replayed != null && $Object.hasOwnProperty.call(message, "replayed") && message.replayed !== false)
                    writer.uint32(16).bool(message.replayed);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            CreateWorkUnitResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.CreateWorkUnitResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            message.workUnit = $root.engram.v3.WorkUnit.decode(reader, reader.size(), $undefined, _depth + 1, message.workUnit);
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.replayed = value;
                            else
                                delete message.replayed;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            CreateWorkUnitResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.CreateWorkUnitResponse";
            };

            return CreateWorkUnitResponse;
        })();

        v3.Error = (function() {

            const Error = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Error.prototype.code = "";
            Error.prototype.message = "";

            Error.create = function(properties) {
                return new Error(properties);
            };

            Error.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.code != null && $Object.hasOwnProperty.call(message, "code") && message.code !== "")
                    writer.uint32(10).string(message.code);
                if (message.message != null && $Object.hasOwnProperty.call(message, "message") && message.message !== "")
                    writer.uint32(18).string(message.message);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Error.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Error();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.code = value;
                            else
                                delete message.code;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.message = value;
                            else
                                delete message.message;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Error.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Error";
            };

            return Error;
        })();

        v3.WorkUnitAck = (function() {

            const WorkUnitAck = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            WorkUnitAck.prototype.index = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            WorkUnitAck.prototype.id = "";
            WorkUnitAck.prototype.contextId = "";
            WorkUnitAck.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            WorkUnitAck.prototype.replayed = false;
            WorkUnitAck.prototype.error = null;

            WorkUnitAck.create = function(properties) {
                return new WorkUnitAck(properties);
            };

            WorkUnitAck.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.index != null && $Object.hasOwnProperty.call(message, "index") && (typeof message.index === "object" ? message.index.low || message.index.high : message.index !== 0))
                    writer.uint32(8).uint64(message.index);
                if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id !== "")
                    writer.uint32(18).string(message.id);
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(26).string(message.contextId);
                if (message.seq != null && $Object.hasOwnProperty.call(message, "seq") && (typeof message.seq === "object" ? message.seq.low || message.seq.high : message.seq !== 0))
                    writer.uint32(32).uint64(message.seq);
                if (message.replayed != null && $Object.hasOwnProperty.call(message, "replayed") && message.replayed !== false)
                    writer.uint32(40).bool(message.replayed);
                if (message.error != null && $Object.hasOwnProperty.call(message, "error"))
                    $root.engram.v3.Error.encode(message.error, writer.uint32(50).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            WorkUnitAck.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.WorkUnitAck();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.index = value;
                            else
                                delete message.index;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.id = value;
                            else
                                delete message.id;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.seq = value;
                            else
                                delete message.seq;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.replayed = value;
                            else
                                delete message.replayed;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            message.error = $root.engram.v3.Error.decode(reader, reader.size(), $undefined, _depth + 1, message.error);
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            WorkUnitAck.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.WorkUnitAck";
            };

            return WorkUnitAck;
        })();

        v3.GetWorkUnitRequest = (function() {

            const GetWorkUnitRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            GetWorkUnitRequest.prototype.id = "";

            GetWorkUnitRequest.create = function(properties) {
                return new GetWorkUnitRequest(properties);
            };

            GetWorkUnitRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id !== "")
                    writer.uint32(10).string(message.id);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            GetWorkUnitRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.GetWorkUnitRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.id = value;
                            else
                                delete message.id;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            GetWorkUnitRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.GetWorkUnitRequest";
            };

            return GetWorkUnitRequest;
        })();

        v3.ListWorkUnitsRequest = (function() {

            const ListWorkUnitsRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ListWorkUnitsRequest.prototype.contextId = "";
            ListWorkUnitsRequest.prototype.limit = 0;
            ListWorkUnitsRequest.prototype.after = null;
            ListWorkUnitsRequest.prototype.before = null;
            ListWorkUnitsRequest.prototype.reverse = false;
            ListWorkUnitsRequest.prototype.summaries = false;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(ListWorkUnitsRequest.prototype, "_after", {
                get: $util.oneOfGetter($oneOfFields = ["after"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(ListWorkUnitsRequest.prototype, "_before", {
                get: $util.oneOfGetter($oneOfFields = ["before"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            ListWorkUnitsRequest.create = function(properties) {
                return new ListWorkUnitsRequest(properties);
            };

            ListWorkUnitsRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.limit != null && $Object.hasOwnProperty.call(message, "limit") && message.limit !== 0)
                    writer.uint32(16).uint32(message.limit);
                if (message.after != null && $Object.hasOwnProperty.call(message, "after"))
                    writer.uint32(24).uint64(message.after);
                if (message.before != null && $Object.hasOwnProperty.call(message, "before"))
                    writer.uint32(32).uint64(message.before);
                if (message.reverse != null && $Object.hasOwnProperty.call(message, "reverse") && message.reverse !== false)
                    writer.uint32(40).bool(message.reverse);
                if (message.summaries != null && $Object.hasOwnProperty.call(message, "summaries") && message.summaries !== false)
                    writer.uint32(48).bool(message.summaries);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ListWorkUnitsRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ListWorkUnitsRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.limit = value;
                            else
                                delete message.limit;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            message.after = reader.uint64();
                            message._after = "after";
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            message.before = reader.uint64();
                            message._before = "before";
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.reverse = value;
                            else
                                delete message.reverse;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.summaries = value;
                            else
                                delete message.summaries;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ListWorkUnitsRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ListWorkUnitsRequest";
            };

            return ListWorkUnitsRequest;
        })();

        v3.ListWorkUnitsResponse = (function() {

            const ListWorkUnitsResponse = function (properties) {
                this.workUnits = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ListWorkUnitsResponse.prototype.workUnits = $util.emptyArray;
            ListWorkUnitsResponse.prototype.nextCursor = null;
            ListWorkUnitsResponse.prototype.firstSeq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(ListWorkUnitsResponse.prototype, "_nextCursor", {
                get: $util.oneOfGetter($oneOfFields = ["nextCursor"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            ListWorkUnitsResponse.create = function(properties) {
                return new ListWorkUnitsResponse(properties);
            };

            ListWorkUnitsResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.workUnits != null && message.workUnits.length)
                    for (let i = 0; i < message.workUnits.length; ++i)
                        $root.engram.v3.WorkUnit.encode(message.workUnits[i], writer.uint32(10).fork(), _depth + 1).ldelim();
                if (message.nextCursor != null && $Object.hasOwnProperty.call(message, "nextCursor"))
                    writer.uint32(16).uint64(message.nextCursor);
                if (message.firstSeq != null && $Object.hasOwnProperty.call(message, "firstSeq") && (typeof message.firstSeq === "object" ? message.firstSeq.low || message.firstSeq.high : message.firstSeq !== 0))
                    writer.uint32(24).uint64(message.firstSeq);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ListWorkUnitsResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ListWorkUnitsResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.workUnits && message.workUnits.length))
                                message.workUnits = [];
                            message.workUnits.push($root.engram.v3.WorkUnit.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            message.nextCursor = reader.uint64();
                            message._nextCursor = "nextCursor";
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.firstSeq = value;
                            else
                                delete message.firstSeq;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ListWorkUnitsResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ListWorkUnitsResponse";
            };

            return ListWorkUnitsResponse;
        })();

        v3.Context = (function() {

            const Context = function (properties) {
                this.agentIds = [];
                this.pinnedUnits = [];
                this.meta = {};
                this.lineage = [];
                this.forks = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Context.prototype.id = "";
            Context.prototype.displayName = "";
            Context.prototype.agentIds = $util.emptyArray;
            Context.prototype.pinnedUnits = $util.emptyArray;
            Context.prototype.meta = $util.emptyObject;
            Context.prototype.createdAt = null;
            Context.prototype.updatedAt = null;
            Context.prototype.version = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            Context.prototype.headSeq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            Context.prototype.firstSeq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            Context.prototype.forkOf = null;
            Context.prototype.lineage = $util.emptyArray;
            Context.prototype.forks = $util.emptyArray;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(Context.prototype, "_forkOf", {
                get: $util.oneOfGetter($oneOfFields = ["forkOf"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            Context.create = function(properties) {
                return new Context(properties);
            };

            Context.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id !== "")
                    writer.uint32(10).string(message.id);
                if (message.displayName != null && $Object.hasOwnProperty.call(message, "displayName") && message.displayName !== "")
                    writer.uint32(18).string(message.displayName);
                if (message.agentIds != null && message.agentIds.length)
                    for (let i = 0; i < message.agentIds.length; ++i)
                        writer.uint32(26).string(message.agentIds[i]);
                if (message.pinnedUnits != null && message.pinnedUnits.length)
                    for (let i = 0; i < message.pinnedUnits.length; ++i)
                        writer.uint32(34).string(message.pinnedUnits[i]);
                if (message.meta != null && $Object.hasOwnProperty.call(message, "meta"))
                    for (let keys = $Object.keys(message.meta), i = 0; i < keys.length; ++i)
                        writer.uint32(42).fork().uint32(10).string(keys[i]).uint32(18).string(message.meta[keys[i]]).ldelim();
                if (message.createdAt != null && $Object.hasOwnProperty.call(message, "createdAt"))
                    $root.google.protobuf.Timestamp.encode(message.createdAt, writer.uint32(50).fork(), _depth + 1).ldelim();
                if (message.updatedAt != null && $Object.hasOwnProperty.call(message, "updatedAt"))
                    $root.google.protobuf.Timestamp.encode(message.updatedAt, writer.uint32(58).fork(), _depth + 1).ldelim();
                if (message.version != null && $Object.hasOwnProperty.call(message, "version") && (typeof message.version === "object" ? message.version.low || message.version.high : message.version !== 0))
                    writer.uint32(64).uint64(message.version);
                if (message.headSeq != null && $Object.hasOwnProperty.call(message, "headSeq") && (typeof message.headSeq === "object" ? message.headSeq.low || message.headSeq.high : message.headSeq !== 0))
                    writer.uint32(72).uint64(message.headSeq);
                if (message.firstSeq != null && $Object.hasOwnProperty.call(message, "firstSeq") && (typeof message.firstSeq === "object" ? message.firstSeq.low || message.firstSeq.high : message.firstSeq !== 0))
                    writer.uint32(80).uint64(message.firstSeq);
                if (message.forkOf != null && $Object.hasOwnProperty.call(message, "forkOf"))
                    $root.engram.v3.ForkPoint.encode(message.forkOf, writer.uint32(90).fork(), _depth + 1).ldelim();
                if (message.lineage != null && message.lineage.length)
                    for (let i = 0; i < message.lineage.length; ++i)
                        $root.engram.v3.ForkPoint.encode(message.lineage[i], writer.uint32(98).fork(), _depth + 1).ldelim();
                if (message.forks != null && message.forks.length)
                    for (let i = 0; i < message.forks.length; ++i)
                        writer.uint32(106).string(message.forks[i]);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Context.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, key, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Context();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.id = value;
                            else
                                delete message.id;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.displayName = value;
                            else
                                delete message.displayName;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if (!(message.agentIds && message.agentIds.length))
                                message.agentIds = [];
                            message.agentIds.push(reader.stringVerify());
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if (!(message.pinnedUnits && message.pinnedUnits.length))
                                message.pinnedUnits = [];
                            message.pinnedUnits.push(reader.stringVerify());
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            if (message.meta === $util.emptyObject)
                                message.meta = {};
                            let end2 = reader.size() + reader.pos;
                            if (end2 > reader.len)
                                throw $RangeError("index out of range");
                            reader.len = end2;
                            key = "";
                            value = "";
                            while (reader.pos < end2) {
                                let tag2 = reader.tag();
                                wireType = tag2 & 7;
                                switch (tag2 >>>= 3) {
                                case 1:
                                    if (wireType !== 2)
                                        break;
                                    key = reader.stringVerify();
                                    continue;
                                case 2:
                                    if (wireType !== 2)
                                        break;
                                    value = reader.stringVerify();
                                    continue;
                                }
                                reader.skipType(wireType, _depth, tag2);
                            }
                            if (reader.pos !== end2)
                                throw $RangeError("index out of range");
                            reader.len = end;
                            if (key === "__proto__")
                                $util.makeProp(message.meta, key);
                            message.meta[key] = value;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            message.createdAt = $root.google.protobuf.Timestamp.decode(reader, reader.size(), $undefined, _depth + 1, message.createdAt);
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            message.updatedAt = $root.google.protobuf.Timestamp.decode(reader, reader.size(), $undefined, _depth + 1, message.updatedAt);
                            continue;
                        }
                    case 8: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.version = value;
                            else
                                delete message.version;
                            continue;
                        }
                    case 9: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.headSeq = value;
                            else
                                delete message.headSeq;
                            continue;
                        }
                    case 10: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.firstSeq = value;
                            else
                                delete message.firstSeq;
                            continue;
                        }
                    case 11: {
                            if (wireType !== 2)
                                break;
                            message.forkOf = $root.engram.v3.ForkPoint.decode(reader, reader.size(), $undefined, _depth + 1, message.forkOf);
                            message._forkOf = "forkOf";
                            continue;
                        }
                    case 12: {
                            if (wireType !== 2)
                                break;
                            if (!(message.lineage && message.lineage.length))
                                message.lineage = [];
                            message.lineage.push($root.engram.v3.ForkPoint.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 13: {
                            if (wireType !== 2)
                                break;
                            if (!(message.forks && message.forks.length))
                                message.forks = [];
                            message.forks.push(reader.stringVerify());
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Context.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Context";
            };

            return Context;
        })();

        v3.ForkPoint = (function() {

            const ForkPoint = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ForkPoint.prototype.contextId = "";
            ForkPoint.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            ForkPoint.create = function(properties) {
                return new ForkPoint(properties);
            };

            ForkPoint.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.seq != null && $Object.hasOwnProperty.call(message, "seq") && (typeof message.seq === "object" ? message.seq.low || message.seq.high : message.seq !== 0))
                    writer.uint32(16).uint64(message.seq);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ForkPoint.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ForkPoint();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.seq = value;
                            else
                                delete message.seq;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ForkPoint.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ForkPoint";
            };

            return ForkPoint;
        })();

        v3.ForkContextRequest = (function() {

            const ForkContextRequest = function (properties) {
                this.meta = {};
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ForkContextRequest.prototype.contextId = "";
            ForkContextRequest.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            ForkContextRequest.prototype.id = "";
            ForkContextRequest.prototype.displayName = null;
            ForkContextRequest.prototype.meta = $util.emptyObject;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(ForkContextRequest.prototype, "_displayName", {
                get: $util.oneOfGetter($oneOfFields = ["displayName"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            ForkContextRequest.create = function(properties) {
                return new ForkContextRequest(properties);
            };

            ForkContextRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.seq != null && $Object.hasOwnProperty.call(message, "seq") && (typeof message.seq === "object" ? message.seq.low || message.seq.high : message.seq !== 0))
                    writer.uint32(16).uint64(message.seq);
                if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id !== "")
                    writer.uint32(26).string(message.id);
                if (message.displayName != null && $Object.hasOwnProperty.call(message, "displayName"))
                    writer.uint32(34).string(message.displayName);
                if (message.meta != null && $Object.hasOwnProperty.call(message, "meta"))
                    for (let keys = $Object.keys(message.meta), i = 0; i < keys.length; ++i)
                        writer.uint32(42).fork().uint32(10).string(keys[i]).uint32(18).string(message.meta[keys[i]]).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ForkContextRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, key, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ForkContextRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.seq = value;
                            else
                                delete message.seq;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.id = value;
                            else
                                delete message.id;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            message.displayName = reader.stringVerify();
                            message._displayName = "displayName";
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            if (message.meta === $util.emptyObject)
                                message.meta = {};
                            let end2 = reader.size() + reader.pos;
                            if (end2 > reader.len)
                                throw $RangeError("index out of range");
                            reader.len = end2;
                            key = "";
                            value = "";
                            while (reader.pos < end2) {
                                let tag2 = reader.tag();
                                wireType = tag2 & 7;
                                switch (tag2 >>>= 3) {
                                case 1:
                                    if (wireType !== 2)
                                        break;
                                    key = reader.stringVerify();
                                    continue;
                                case 2:
                                    if (wireType !== 2)
                                        break;
                                    value = reader.stringVerify();
                                    continue;
                                }
                                reader.skipType(wireType, _depth, tag2);
                            }
                            if (reader.pos !== end2)
                                throw $RangeError("index out of range");
                            reader.len = end;
                            if (key === "__proto__")
                                $util.makeProp(message.meta, key);
                            message.meta[key] = value;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ForkContextRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ForkContextRequest";
            };

            return ForkContextRequest;
        })();

        v3.ListForksRequest = (function() {

            const ListForksRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ListForksRequest.prototype.contextId = "";

            ListForksRequest.create = function(properties) {
                return new ListForksRequest(properties);
            };

            ListForksRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ListForksRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ListForksRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ListForksRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ListForksRequest";
            };

            return ListForksRequest;
        })();

        v3.ListForksResponse = (function() {

            const ListForksResponse = function (properties) {
                this.forks = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ListForksResponse.prototype.forks = $util.emptyArray;

            ListForksResponse.create = function(properties) {
                return new ListForksResponse(properties);
            };

            ListForksResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.forks != null && message.forks.length)
                    for (let i = 0; i < message.forks.length; ++i)
                        $root.engram.v3.Context.encode(message.forks[i], writer.uint32(10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ListForksResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ListForksResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.forks && message.forks.length))
                                message.forks = [];
                            message.forks.push($root.engram.v3.Context.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ListForksResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ListForksResponse";
            };

            return ListForksResponse;
        })();

        v3.GetContextRequest = (function() {

            const GetContextRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            GetContextRequest.prototype.contextId = "";

            GetContextRequest.create = function(properties) {
                return new GetContextRequest(properties);
            };

            GetContextRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            GetContextRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.GetContextRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            GetContextRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.GetContextRequest";
            };

            return GetContextRequest;
        })();

        v3.DeleteContextRequest = (function() {

            const DeleteContextRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            DeleteContextRequest.prototype.contextId = "";
            DeleteContextRequest.prototype.cascade = false;

            DeleteContextRequest.create = function(properties) {
                return new DeleteContextRequest(properties);
            };

            DeleteContextRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.cascade != null && $Object.hasOwnProperty.call(message, "cascade") && message.cascade !== false)
                    writer.uint32(16).bool(message.cascade);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            DeleteContextRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.DeleteContextRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.cascade = value;
                            else
                                delete message.cascade;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            DeleteContextRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.DeleteContextRequest";
            };

            return DeleteContextRequest;
        })();

        v3.ContextDeletion = (function() {

            const ContextDeletion = function (properties) {
                this.forksDeleted = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ContextDeletion.prototype.contextId = "";
            ContextDeletion.prototype.units = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            ContextDeletion.prototype.bytes = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            ContextDeletion.prototype.forksDeleted = $util.emptyArray;

            ContextDeletion.create = function(properties) {
                return new ContextDeletion(properties);
            };

            ContextDeletion.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.units != null && $Object.hasOwnProperty.call(message, "units") && (typeof message.units === "object" ? message.units.low || message.units.high : message.units !== 0))
                    writer.uint32(16).uint64(message.units);
                if (message.bytes != null && $Object.hasOwnProperty.call(message, "bytes") && (typeof message.bytes === "object" ? message.bytes.low || message.bytes.high : message.bytes !== 0))
                    writer.uint32(24).uint64(message.bytes);
                if (message.forksDeleted != null && message.forksDeleted.length)
                    for (let i = 0; i < message.forksDeleted.length; ++i)
                        writer.uint32(34).string(message.forksDeleted[i]);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ContextDeletion.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ContextDeletion();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.units = value;
                            else
                                delete message.units;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.bytes = value;
                            else
                                delete message.bytes;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if (!(message.forksDeleted && message.forksDeleted.length))
                                message.forksDeleted = [];
                            message.forksDeleted.push(reader.stringVerify());
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ContextDeletion.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ContextDeletion";
            };

            return ContextDeletion;
        })();

        v3.UpdateContextRequest = (function() {

            const UpdateContextRequest = function (properties) {
                this.addAgents = [];
                this.removeAgents = [];
                this.pinUnits = [];
                this.unpinUnits = [];
                this.setMeta = {};
                this.deleteMeta = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            UpdateContextRequest.prototype.contextId = "";
            UpdateContextRequest.prototype.displayName = null;
            UpdateContextRequest.prototype.addAgents = $util.emptyArray;
            UpdateContextRequest.prototype.removeAgents = $util.emptyArray;
            UpdateContextRequest.prototype.pinUnits = $util.emptyArray;
            UpdateContextRequest.prototype.unpinUnits = $util.emptyArray;
            UpdateContextRequest.prototype.setMeta = $util.emptyObject;
            UpdateContextRequest.prototype.deleteMeta = $util.emptyArray;
            UpdateContextRequest.prototype.ifVersion = null;
            UpdateContextRequest.prototype.ifExists = null;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(UpdateContextRequest.prototype, "_displayName", {
                get: $util.oneOfGetter($oneOfFields = ["displayName"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            $Object.defineProperty(UpdateContextRequest.prototype, "precondition", {
                get: $util.oneOfGetter($oneOfFields = ["ifVersion", "ifExists"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            UpdateContextRequest.create = function(properties) {
                return new UpdateContextRequest(properties);
            };

            UpdateContextRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.displayName != null && $Object.hasOwnProperty.call(message, "displayName"))
                    writer.uint32(18).string(message.displayName);
                if (message.addAgents != null && message.addAgents.length)
                    for (let i = 0; i < message.addAgents.length; ++i)
                        writer.uint32(26).string(message.addAgents[i]);
                if (message.removeAgents != null && message.removeAgents.length)
                    for (let i = 0; i < message.removeAgents.length; ++i)
                        writer.uint32(34).string(message.removeAgents[i]);
                if (message.pinUnits != null && message.pinUnits.length)
                    for (let i = 0; i < message.pinUnits.length; ++i)
                        writer.uint32(42).string(message.pinUnits[i]);
                if (message.unpinUnits != null && message.unpinUnits.length)
                    for (let i = 0; i < message.unpinUnits.length; ++i)
                        writer.uint32(50).string(message.unpinUnits[i]);
                if (message.setMeta != null && $Object.hasOwnProperty.call(message, "setMeta"))
                    for (let keys = $Object.keys(message.setMeta), i = 0; i < keys.length; ++i)
                        writer.uint32(58).fork().uint32(10).string(keys[i]).uint32(18).string(message.setMeta[keys[i]]).ldelim();
                if (message.deleteMeta != null && message.deleteMeta.length)
                    for (let i = 0; i < message.deleteMeta.length; ++i)
                        writer.uint32(66).string(message.deleteMeta[i]);
                if (message.ifVersion != null && $Object.hasOwnProperty.call(message, "ifVersion"))
                    writer.uint32(72).uint64(message.ifVersion);
                if (message.ifExists != null && $Object.hasOwnProperty.call(message, "ifExists"))
                    writer.uint32(80).bool(message.ifExists);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            UpdateContextRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, key, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.UpdateContextRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            message.displayName = reader.stringVerify();
                            message._displayName = "displayName";
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if (!(message.addAgents && message.addAgents.length))
                                message.addAgents = [];
                            message.addAgents.push(reader.stringVerify());
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if (!(message.removeAgents && message.removeAgents.length))
                                message.removeAgents = [];
                            message.removeAgents.push(reader.stringVerify());
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            if (!(message.pinUnits && message.pinUnits.length))
                                message.pinUnits = [];
                            message.pinUnits.push(reader.stringVerify());
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            if (!(message.unpinUnits && message.unpinUnits.length))
                                message.unpinUnits = [];
                            message.unpinUnits.push(reader.stringVerify());
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            if (message.setMeta === $util.emptyObject)
                                message.setMeta = {};
                            let end2 = reader.size() + reader.pos;
                            if (end2 > reader.len)
                                throw $RangeError("index out of range");
                            reader.len = end2;
                            key = "";
                            value = "";
                            while (reader.pos < end2) {
                                let tag2 = reader.tag();
                                wireType = tag2 & 7;
                                switch (tag2 >>>= 3) {
                                case 1:
                                    if (wireType !== 2)
                                        break;
                                    key = reader.stringVerify();
                                    continue;
                                case 2:
                                    if (wireType !== 2)
                                        break;
                                    value = reader.stringVerify();
                                    continue;
                                }
                                reader.skipType(wireType, _depth, tag2);
                            }
                            if (reader.pos !== end2)
                                throw $RangeError("index out of range");
                            reader.len = end;
                            if (key === "__proto__")
                                $util.makeProp(message.setMeta, key);
                            message.setMeta[key] = value;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 2)
                                break;
                            if (!(message.deleteMeta && message.deleteMeta.length))
                                message.deleteMeta = [];
                            message.deleteMeta.push(reader.stringVerify());
                            continue;
                        }
                    case 9: {
                            if (wireType !== 0)
                                break;
                            message.ifVersion = reader.uint64();
                            message.precondition = "ifVersion";
                            continue;
                        }
                    case 10: {
                            if (wireType !== 0)
                                break;
                            message.ifExists = reader.bool();
                            message.precondition = "ifExists";
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            UpdateContextRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.UpdateContextRequest";
            };

            return UpdateContextRequest;
        })();

        v3.ListContextsRequest = (function() {

            const ListContextsRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ListContextsRequest.prototype.limit = 0;
            ListContextsRequest.prototype.after = "";
            ListContextsRequest.prototype.prefix = "";

            ListContextsRequest.create = function(properties) {
                return new ListContextsRequest(properties);
            };

            ListContextsRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.limit != null && $Object.hasOwnProperty.call(message, "limit") && message.limit !== 0)
                    writer.uint32(8).uint32(message.limit);
                if (message.after != null && $Object.hasOwnProperty.call(message, "after") && message.after !== "")
                    writer.uint32(18).string(message.after);
                if (message.prefix != null && $Object.hasOwnProperty.call(message, "prefix") && message.prefix !== "")
                    writer.uint32(26).string(message.prefix);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ListContextsRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ListContextsRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.limit = value;
                            else
                                delete message.limit;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.after = value;
                            else
                                delete message.after;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.prefix = value;
                            else
                                delete message.prefix;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ListContextsRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ListContextsRequest";
            };

            return ListContextsRequest;
        })();

        v3.ListContextsResponse = (function() {

            const ListContextsResponse = function (properties) {
                this.contexts = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ListContextsResponse.prototype.contexts = $util.emptyArray;
            ListContextsResponse.prototype.nextCursor = null;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(ListContextsResponse.prototype, "_nextCursor", {
                get: $util.oneOfGetter($oneOfFields = ["nextCursor"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            ListContextsResponse.create = function(properties) {
                return new ListContextsResponse(properties);
            };

            ListContextsResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contexts != null && message.contexts.length)
                    for (let i = 0; i < message.contexts.length; ++i)
                        $root.engram.v3.Context.encode(message.contexts[i], writer.uint32(10).fork(), _depth + 1).ldelim();
                if (message.nextCursor != null && $Object.hasOwnProperty.call(message, "nextCursor"))
                    writer.uint32(18).string(message.nextCursor);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ListContextsResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ListContextsResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.contexts && message.contexts.length))
                                message.contexts = [];
                            message.contexts.push($root.engram.v3.Context.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            message.nextCursor = reader.stringVerify();
                            message._nextCursor = "nextCursor";
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ListContextsResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ListContextsResponse";
            };

            return ListContextsResponse;
        })();

        v3.Lock = (function() {

            const Lock = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Lock.prototype.resource = "";
            Lock.prototype.agentId = "";
            Lock.prototype.lockId = "";
            Lock.prototype.token = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            Lock.prototype.expiresAt = null;
            Lock.prototype.ttlMs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            Lock.prototype.acquiredAt = null;
            Lock.prototype.contextId = "";
            Lock.prototype.waiting = 0;

            Lock.create = function(properties) {
                return new Lock(properties);
            };

            Lock.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.resource != null && $Object.hasOwnProperty.call(message, "resource") && message.resource !== "")
                    writer.uint32(10).string(message.resource);
                if (message.agentId != null && $Object.hasOwnProperty.call(message, "agentId") && message.agentId !== "")
                    writer.uint32(18).string(message.agentId);
                if (message.lockId != null && $Object.hasOwnProperty.call(message, "lockId") && message.lockId !== "")
                    writer.uint32(26).string(message.lockId);
                if (message.token != null && $Object.hasOwnProperty.call(message, "token") && (typeof message.token === "object" ? message.token.low || message.token.high : message.token !== 0))
                    writer.uint32(32).uint64(message.token);
                if (message.expiresAt != null && $Object.hasOwnProperty.call(message, "expiresAt"))
                    $root.google.protobuf.Timestamp.encode(message.expiresAt, writer.uint32(42).fork(), _depth + 1).ldelim();
                if (message.ttlMs != null && $Object.hasOwnProperty.call(message, "ttlMs") && (typeof message.ttlMs === "object" ? message.ttlMs.low || message.ttlMs.high : message.ttlMs !== 0))
                    writer.uint32(48).uint64(message.ttlMs);
                if (message.acquiredAt != null && $Object.hasOwnProperty.call(message, "acquiredAt"))
                    $root.google.protobuf.Timestamp.encode(message.acquiredAt, writer.uint32(58).fork(), _depth + 1).ldelim();
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(66).string(message.contextId);
                if (message.waiting != null && $Object.hasOwnProperty.call(message, "waiting") && message.waiting !== 0)
                    writer.uint32(72).uint32(message.waiting);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Lock.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Lock();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.resource = value;
                            else
                                delete message.resource;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.agentId = value;
                            else
                                delete message.agentId;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.lockId = value;
                            else
                                delete message.lockId;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.token = value;
                            else
                                delete message.token;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            message.expiresAt = $root.google.protobuf.Timestamp.decode(reader, reader.size(), $undefined, _depth + 1, message.expiresAt);
                            continue;
                        }
                    case 6: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.ttlMs = value;
                            else
                                delete message.ttlMs;
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            message.acquiredAt = $root.google.protobuf.Timestamp.decode(reader, reader.size(), $undefined, _depth + 1, message.acquiredAt);
                            continue;
                        }
                    case 8: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 9: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.waiting = value;
                            else
                                delete message.waiting;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Lock.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Lock";
            };

            return Lock;
        })();

        v3.AcquireLockRequest = (function() {

            const AcquireLockRequest = function (properties) {
                this.resources = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            AcquireLockRequest.prototype.resources = $util.emptyArray;
            AcquireLockRequest.prototype.agentId = "";
            AcquireLockRequest.prototype.ttlMs = null;
            AcquireLockRequest.prototype.waitMs = null;
            AcquireLockRequest.prototype.contextId = "";

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(AcquireLockRequest.prototype, "_ttlMs", {
                get: $util.oneOfGetter($oneOfFields = ["ttlMs"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(AcquireLockRequest.prototype, "_waitMs", {
                get: $util.oneOfGetter($oneOfFields = ["waitMs"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            AcquireLockRequest.create = function(properties) {
                return new AcquireLockRequest(properties);
            };

            AcquireLockRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.resources != null && message.resources.length)
                    for (let i = 0; i < message.resources.length; ++i)
                        writer.uint32(10).string(message.resources[i]);
                if (message.agentId != null && $Object.hasOwnProperty.call(message, "agentId") && message.agentId !== "")
                    writer.uint32(18).string(message.agentId);
                if (message.ttlMs != null && $Object.hasOwnProperty.call(message, "ttlMs"))
                    writer.uint32(24).uint64(message.ttlMs);
                if (message.waitMs != null && $Object.hasOwnProperty.call(message, "waitMs"))
                    writer.uint32(32).uint64(message.waitMs);
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(42).string(message.contextId);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            AcquireLockRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.AcquireLockRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.resources && message.resources.length))
                                message.resources = [];
                            message.resources.push(reader.stringVerify());
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.agentId = value;
                            else
                                delete message.agentId;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            message.ttlMs = reader.uint64();
                            message._ttlMs = "ttlMs";
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            message.waitMs = reader.uint64();
                            message._waitMs = "waitMs";
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            AcquireLockRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.AcquireLockRequest";
            };

            return AcquireLockRequest;
        })();

        v3.AcquireLockResponse = (function() {

            const AcquireLockResponse = function (properties) {
                this.locks = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            AcquireLockResponse.prototype.locks = $util.emptyArray;

            AcquireLockResponse.create = function(properties) {
                return new AcquireLockResponse(properties);
            };

            AcquireLockResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.locks != null && message.locks.length)
                    for (let i = 0; i < message.locks.length; ++i)
                        $root.engram.v3.Lock.encode(message.locks[i], writer.uint32(10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            AcquireLockResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.AcquireLockResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.locks && message.locks.length))
                                message.locks = [];
                            message.locks.push($root.engram.v3.Lock.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            AcquireLockResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.AcquireLockResponse";
            };

            return AcquireLockResponse;
        })();

        v3.RenewLockRequest = (function() {

            const RenewLockRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            RenewLockRequest.prototype.resource = "";
            RenewLockRequest.prototype.agentId = "";
            RenewLockRequest.prototype.lockId = "";
            RenewLockRequest.prototype.ttlMs = null;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(RenewLockRequest.prototype, "_ttlMs", {
                get: $util.oneOfGetter($oneOfFields = ["ttlMs"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            RenewLockRequest.create = function(properties) {
                return new RenewLockRequest(properties);
            };

            RenewLockRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.resource != null && $Object.hasOwnProperty.call(message, "resource") && message.resource !== "")
                    writer.uint32(10).string(message.resource);
                if (message.agentId != null && $Object.hasOwnProperty.call(message, "agentId") && message.agentId !== "")
                    writer.uint32(18).string(message.agentId);
                if (message.lockId != null && $Object.hasOwnProperty.call(message, "lockId") && message.lockId !== "")
                    writer.uint32(26).string(message.lockId);
                if (message.ttlMs != null && $Object.hasOwnProperty.call(message, "ttlMs"))
                    writer.uint32(32).uint64(message.ttlMs);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            RenewLockRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.RenewLockRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.resource = value;
                            else
                                delete message.resource;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.agentId = value;
                            else
                                delete message.agentId;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.lockId = value;
                            else
                                delete message.lockId;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            message.ttlMs = reader.uint64();
                            message._ttlMs = "ttlMs";
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            RenewLockRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.RenewLockRequest";
            };

            return RenewLockRequest;
        })();

        v3.ReleaseLockRequest = (function() {

            const ReleaseLockRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ReleaseLockRequest.prototype.resource = "";
            ReleaseLockRequest.prototype.agentId = "";
            ReleaseLockRequest.prototype.lockId = "";

            ReleaseLockRequest.create = function(properties) {
                return new ReleaseLockRequest(properties);
            };

            ReleaseLockRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.resource != null && $Object.hasOwnProperty.call(message, "resource") && message.resource !== "")
                    writer.uint32(10).string(message.resource);
                if (message.agentId != null && $Object.hasOwnProperty.call(message, "agentId") && message.agentId !== "")
                    writer.uint32(18).string(message.agentId);
                if (message.lockId != null && $Object.hasOwnProperty.call(message, "lockId") && message.lockId !== "")
                    writer.uint32(26).string(message.lockId);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ReleaseLockRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ReleaseLockRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.resource = value;
                            else
                                delete message.resource;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.agentId = value;
                            else
                                delete message.agentId;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.lockId = value;
                            else
                                delete message.lockId;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ReleaseLockRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ReleaseLockRequest";
            };

            return ReleaseLockRequest;
        })();

        v3.GetLockRequest = (function() {

            const GetLockRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            GetLockRequest.prototype.resource = "";

            GetLockRequest.create = function(properties) {
                return new GetLockRequest(properties);
            };

            GetLockRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.resource != null && $Object.hasOwnProperty.call(message, "resource") && message.resource !== "")
                    writer.uint32(10).string(message.resource);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            GetLockRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.GetLockRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.resource = value;
                            else
                                delete message.resource;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            GetLockRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.GetLockRequest";
            };

            return GetLockRequest;
        })();

        v3.SearchMode = (function() {
            const valuesById = $Object.create(null), values = $Object.create(valuesById);
            values[valuesById[0] = "SEARCH_MODE_UNSPECIFIED"] = 0;
            values[valuesById[1] = "SEARCH_MODE_HYBRID"] = 1;
            values[valuesById[2] = "SEARCH_MODE_KEYWORD"] = 2;
            values[valuesById[3] = "SEARCH_MODE_VECTOR"] = 3;
            return values;
        })();

        v3.SearchRequest = (function() {

            const SearchRequest = function (properties) {
                this.vector = [];
                this.contextIds = [];
                this.agentIds = [];
                this.types = [];
                this.meta = {};
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            SearchRequest.prototype.query = "";
            SearchRequest.prototype.vector = $util.emptyArray;
            SearchRequest.prototype.mode = 0;
            SearchRequest.prototype.contextIds = $util.emptyArray;
            SearchRequest.prototype.agentIds = $util.emptyArray;
            SearchRequest.prototype.types = $util.emptyArray;
            SearchRequest.prototype.meta = $util.emptyObject;
            SearchRequest.prototype.since = null;
            SearchRequest.prototype.until = null;
            SearchRequest.prototype.limit = 0;
            SearchRequest.prototype.offset = 0;
            SearchRequest.prototype.fresh = false;

            SearchRequest.create = function(properties) {
                return new SearchRequest(properties);
            };

            SearchRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.query != null && $Object.hasOwnProperty.call(message, "query") && message.query !== "")
                    writer.uint32(10).string(message.query);
                if (message.vector != null && message.vector.length)
                    writer.uint32(18).floats(message.vector);
                if (message.mode != null && $Object.hasOwnProperty.call(message, "mode") && message.mode !== 0)
                    writer.uint32(24).int32(message.mode);
                if (message.contextIds != null && message.contextIds.length)
                    for (let i = 0; i < message.contextIds.length; ++i)
                        writer.uint32(34).string(message.contextIds[i]);
                if (message.agentIds != null && message.agentIds.length)
                    for (let i = 0; i < message.agentIds.length; ++i)
                        writer.uint32(42).string(message.agentIds[i]);
                if (message.types != null && message.types.length)
                    writer.uint32(50).int32s(message.types);
                if (message.meta != null && $Object.hasOwnProperty.call(message, "meta"))
                    for (let keys = $Object.keys(message.meta), i = 0; i < keys.length; ++i)
                        writer.uint32(58).fork().uint32(10).string(keys[i]).uint32(18).string(message.meta[keys[i]]).ldelim();
                if (message.since != null && $Object.hasOwnProperty.call(message, "since"))
                    $root.google.protobuf.Timestamp.encode(message.since, writer.uint32(66).fork(), _depth + 1).ldelim();
                if (message.until != null && $Object.hasOwnProperty.call(message, "until"))
                    $root.google.protobuf.Timestamp.encode(message.until, writer.uint32(74).fork(), _depth + 1).ldelim();
                if (message.limit != null && $Object.hasOwnProperty.call(message, "limit") && message.limit !== 0)
                    writer.uint32(80).uint32(message.limit);
                if (message.offset != null && $Object.hasOwnProperty.call(message, "offset") && message.offset !== 0)
                    writer.uint32(88).uint32(message.offset);
                if (message.fresh != null && $Object.hasOwnProperty.call(message, "fresh") && message.fresh !== false)
                    writer.uint32(96).bool(message.fresh);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            SearchRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, key, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.SearchRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.query = value;
                            else
                                delete message.query;
                            continue;
                        }
                    case 2: {
                            if (wireType === 2) {
                                if (!(message.vector && message.vector.length))
                                    message.vector = [];
                                reader.floats(message.vector);
                                continue;
                            }
                            if (wireType !== 5)
                                break;
                            if (!(message.vector && message.vector.length))
                                message.vector = [];
                            message.vector.push(reader.float());
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.int32())
                                message.mode = value;
                            else
                                delete message.mode;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if (!(message.contextIds && message.contextIds.length))
                                message.contextIds = [];
                            message.contextIds.push(reader.stringVerify());
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            if (!(message.agentIds && message.agentIds.length))
                                message.agentIds = [];
                            message.agentIds.push(reader.stringVerify());
                            continue;
                        }
                    case 6: {
                            if (wireType === 2) {
                                if (!(message.types && message.types.length))
                                    message.types = [];
                                reader.int32s(message.types);
                                continue;
                            }
                            if (wireType !== 0)
                                break;
                            if (!(message.types && message.types.length))
                                message.types = [];
                            message.types.push(reader.int32());
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            if (message.meta === $util.emptyObject)
                                message.meta = {};
                            let end2 = reader.size() + reader.pos;
                            if (end2 > reader.len)
                                throw $RangeError("index out of range");
                            reader.len = end2;
                            key = "";
                            value = "";
                            while (reader.pos < end2) {
                                let tag2 = reader.tag();
                                wireType = tag2 & 7;
                                switch (tag2 >>>= 3) {
                                case 1:
                                    if (wireType !== 2)
                                        break;
                                    key = reader.stringVerify();
                                    continue;
                                case 2:
                                    if (wireType !== 2)
                                        break;
                                    value = reader.stringVerify();
                                    continue;
                                }
                                reader.skipType(wireType, _depth, tag2);
                            }
                            if (reader.pos !== end2)
                                throw $RangeError("index out of range");
                            reader.len = end;
                            if (key === "__proto__")
                                $util.makeProp(message.meta, key);
                            message.meta[key] = value;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 2)
                                break;
                            message.since = $root.google.protobuf.Timestamp.decode(reader, reader.size(), $undefined, _depth + 1, message.since);
                            continue;
                        }
                    case 9: {
                            if (wireType !== 2)
                                break;
                            message.until = $root.google.protobuf.Timestamp.decode(reader, reader.size(), $undefined, _depth + 1, message.until);
                            continue;
                        }
                    case 10: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.limit = value;
                            else
                                delete message.limit;
                            continue;
                        }
                    case 11: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.offset = value;
                            else
                                delete message.offset;
                            continue;
                        }
                    case 12: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.fresh = value;
                            else
                                delete message.fresh;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            SearchRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.SearchRequest";
            };

            return SearchRequest;
        })();

        v3.SearchResult = (function() {

            const SearchResult = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            SearchResult.prototype.workUnit = null;
            SearchResult.prototype.score = 0;
            SearchResult.prototype.keywordScore = null;
            SearchResult.prototype.vectorScore = null;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(SearchResult.prototype, "_keywordScore", {
                get: $util.oneOfGetter($oneOfFields = ["keywordScore"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(SearchResult.prototype, "_vectorScore", {
                get: $util.oneOfGetter($oneOfFields = ["vectorScore"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            SearchResult.create = function(properties) {
                return new SearchResult(properties);
            };

            SearchResult.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.workUnit != null && $Object.hasOwnProperty.call(message, "workUnit"))
                    $root.engram.v3.WorkUnit.encode(message.workUnit, writer.uint32(10).fork(), _depth + 1).ldelim();
                if (message.score != null && $Object.hasOwnProperty.call(message, "score") && !$Object.is(message.score, 0))
                    writer.uint32(17).double(message.score);
                if (message.keywordScore != null && $Object.hasOwnProperty.call(message, "keywordScore"))
                    writer.uint32(25).double(message.keywordScore);
                if (message.vectorScore != null && $Object.hasOwnProperty.call(message, "vectorScore"))
                    writer.uint32(33).double(message.vectorScore);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            SearchResult.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.SearchResult();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            message.workUnit = $root.engram.v3.WorkUnit.decode(reader, reader.size(), $undefined, _depth + 1, message.workUnit);
                            continue;
                        }
                    case 2: {
                            if (wireType !== 1)
                                break;
                            if (!$Object.is(value = reader.double(), 0))
                                message.score = value;
                            else
                                delete message.score;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 1)
                                break;
                            message.keywordScore = reader.double();
                            message._keywordScore = "keywordScore";
                            continue;
                        }
                    case 4: {
                            if (wireType !== 1)
                                break;
                            message.vectorScore = reader.double();
                            message._vectorScore = "vectorScore";
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            SearchResult.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.SearchResult";
            };

            return SearchResult;
        })();

        v3.SearchResponse = (function() {

            const SearchResponse = function (properties) {
                this.results = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            SearchResponse.prototype.results = $util.emptyArray;
            SearchResponse.prototype.total = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            SearchResponse.prototype.totalRelation = "";

            SearchResponse.create = function(properties) {
                return new SearchResponse(properties);
            };

            SearchResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.results != null && message.results.length)
                    for (let i = 0; i < message.results.length; ++i)
                        $root.engram.v3.SearchResult.encode(message.results[i], writer.uint32(10).fork(), _depth + 1).ldelim();
                if (message.total != null && $Object.hasOwnProperty.call(message, "total") && (typeof message.total === "object" ? message.total.low || message.total.high : message.total !== 0))
                    writer.uint32(16).uint64(message.total);
                if (message.totalRelation != null && $Object.hasOwnProperty.call(message, "totalRelation") && message.totalRelation !== "")
                    writer.uint32(26).string(message.totalRelation);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            SearchResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.SearchResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.results && message.results.length))
                                message.results = [];
                            message.results.push($root.engram.v3.SearchResult.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.total = value;
                            else
                                delete message.total;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.totalRelation = value;
                            else
                                delete message.totalRelation;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            SearchResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.SearchResponse";
            };

            return SearchResponse;
        })();

        v3.SubscribeRequest = (function() {

            const SubscribeRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            SubscribeRequest.prototype.contextId = "";
            SubscribeRequest.prototype.since = null;
            SubscribeRequest.prototype.epoch = null;
            SubscribeRequest.prototype.agentId = "";
            SubscribeRequest.prototype.presence = false;
            SubscribeRequest.prototype.continueAfterTrim = false;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(SubscribeRequest.prototype, "_since", {
                get: $util.oneOfGetter($oneOfFields = ["since"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(SubscribeRequest.prototype, "_epoch", {
                get: $util.oneOfGetter($oneOfFields = ["epoch"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            SubscribeRequest.create = function(properties) {
                return new SubscribeRequest(properties);
            };

            SubscribeRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.since != null && $Object.hasOwnProperty.call(message, "since"))
                    writer.uint32(16).uint64(message.since);
                if (message.epoch != null && $Object.hasOwnProperty.call(message, "epoch"))
                    writer.uint32(26).string(message.epoch);
                if (message.agentId != null && $Object.hasOwnProperty.call(message, "agentId") && message.agentId !== "")
                    writer.uint32(34).string(message.agentId);
                if (message.presence != null && $Object.hasOwnProperty.call(message, "presence") && message.presence !== false)
                    writer.uint32(40).bool(message.presence);
                if (message.continueAfterTrim != null && $Object.hasOwnProperty.call(message, "continueAfterTrim") && message.continueAfterTrim !== false)
                    writer.uint32(48).bool(message.continueAfterTrim);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            SubscribeRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.SubscribeRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            message.since = reader.uint64();
                            message._since = "since";
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            message.epoch = reader.stringVerify();
                            message._epoch = "epoch";
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.agentId = value;
                            else
                                delete message.agentId;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.presence = value;
                            else
                                delete message.presence;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.continueAfterTrim = value;
                            else
                                delete message.continueAfterTrim;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            SubscribeRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.SubscribeRequest";
            };

            return SubscribeRequest;
        })();

        v3.SubscribeEvent = (function() {

            const SubscribeEvent = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            SubscribeEvent.prototype.subscribed = null;
            SubscribeEvent.prototype.workUnit = null;
            SubscribeEvent.prototype.context = null;
            SubscribeEvent.prototype.lock = null;
            SubscribeEvent.prototype.deleted = null;
            SubscribeEvent.prototype.presence = null;
            SubscribeEvent.prototype.trimmed = null;

            let $oneOfFields;

            $Object.defineProperty(SubscribeEvent.prototype, "event", {
                get: $util.oneOfGetter($oneOfFields = ["subscribed", "workUnit", "context", "lock", "deleted", "presence", "trimmed"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            SubscribeEvent.create = function(properties) {
                return new SubscribeEvent(properties);
            };

            SubscribeEvent.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.subscribed != null && $Object.hasOwnProperty.call(message, "subscribed"))
                    $root.engram.v3.Subscribed.encode(message.subscribed, writer.uint32(10).fork(), _depth + 1).ldelim();
                if (message.workUnit != null && $Object.hasOwnProperty.call(message, "workUnit"))
                    $root.engram.v3.WorkUnit.encode(message.workUnit, writer.uint32(18).fork(), _depth + 1).ldelim();
                if (message.context != null && $Object.hasOwnProperty.call(message, "context"))
                    $root.engram.v3.Context.encode(message.context, writer.uint32(26).fork(), _depth + 1).ldelim();
                if (message.lock != null && $Object.hasOwnProperty.call(message, "lock"))
                    $root.engram.v3.LockEvent.encode(message.lock, writer.uint32(34).fork(), _depth + 1).ldelim();
                if (message.deleted != null && $Object.hasOwnProperty.call(message, "deleted"))
                    $root.engram.v3.Deleted.encode(message.deleted, writer.uint32(42).fork(), _depth + 1).ldelim();
                if (message.presence != null && $Object.hasOwnProperty.call(message, "presence"))
                    $root.engram.v3.PresenceEvent.encode(message.presence, writer.uint32(50).fork(), _depth + 1).ldelim();
                if (message.trimmed != null && $Object.hasOwnProperty.call(message, "trimmed"))
                    $root.engram.v3.Trimmed.encode(message.trimmed, writer.uint32(58).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            SubscribeEvent.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.SubscribeEvent();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            message.subscribed = $root.engram.v3.Subscribed.decode(reader, reader.size(), $undefined, _depth + 1, message.subscribed);
                            message.event = "subscribed";
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            message.workUnit = $root.engram.v3.WorkUnit.decode(reader, reader.size(), $undefined, _depth + 1, message.workUnit);
                            message.event = "workUnit";
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            message.context = $root.engram.v3.Context.decode(reader, reader.size(), $undefined, _depth + 1, message.context);
                            message.event = "context";
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            message.lock = $root.engram.v3.LockEvent.decode(reader, reader.size(), $undefined, _depth + 1, message.lock);
                            message.event = "lock";
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            message.deleted = $root.engram.v3.Deleted.decode(reader, reader.size(), $undefined, _depth + 1, message.deleted);
                            message.event = "deleted";
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            message.presence = $root.engram.v3.PresenceEvent.decode(reader, reader.size(), $undefined, _depth + 1, message.presence);
                            message.event = "presence";
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            message.trimmed = $root.engram.v3.Trimmed.decode(reader, reader.size(), $undefined, _depth + 1, message.trimmed);
                            message.event = "trimmed";
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            SubscribeEvent.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.SubscribeEvent";
            };

            return SubscribeEvent;
        })();

        v3.Trimmed = (function() {

            const Trimmed = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Trimmed.prototype.contextId = "";
            Trimmed.prototype.firstSeq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            Trimmed.prototype.continues = false;

            Trimmed.create = function(properties) {
                return new Trimmed(properties);
            };

            Trimmed.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.firstSeq != null && $Object.hasOwnProperty.call(message, "firstSeq") && (typeof message.firstSeq === "object" ? message.firstSeq.low || message.firstSeq.high : message.firstSeq !== 0))
                    writer.uint32(16).uint64(message.firstSeq);
                if (message.continues != null && $Object.hasOwnProperty.call(message, "continues") && message.continues !== false)
                    writer.uint32(24).bool(message.continues);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Trimmed.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Trimmed();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.firstSeq = value;
                            else
                                delete message.firstSeq;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.continues = value;
                            else
                                delete message.continues;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Trimmed.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Trimmed";
            };

            return Trimmed;
        })();

        v3.Deleted = (function() {

            const Deleted = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Deleted.prototype.contextId = "";

            Deleted.create = function(properties) {
                return new Deleted(properties);
            };

            Deleted.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Deleted.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Deleted();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Deleted.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Deleted";
            };

            return Deleted;
        })();

        v3.Subscribed = (function() {

            const Subscribed = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Subscribed.prototype.contextId = "";
            Subscribed.prototype.headSeq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            Subscribed.prototype.epoch = "";

            Subscribed.create = function(properties) {
                return new Subscribed(properties);
            };

            Subscribed.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.headSeq != null && $Object.hasOwnProperty.call(message, "headSeq") && (typeof message.headSeq === "object" ? message.headSeq.low || message.headSeq.high : message.headSeq !== 0))
                    writer.uint32(16).uint64(message.headSeq);
                if (message.epoch != null && $Object.hasOwnProperty.call(message, "epoch") && message.epoch !== "")
                    writer.uint32(26).string(message.epoch);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Subscribed.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Subscribed();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.headSeq = value;
                            else
                                delete message.headSeq;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.epoch = value;
                            else
                                delete message.epoch;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Subscribed.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Subscribed";
            };

            return Subscribed;
        })();

        v3.LockEvent = (function() {

            const LockEvent = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            LockEvent.prototype.action = "";
            LockEvent.prototype.lock = null;

            LockEvent.create = function(properties) {
                return new LockEvent(properties);
            };

            LockEvent.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.action != null && $Object.hasOwnProperty.call(message, "action") && message.action !== "")
                    writer.uint32(10).string(message.action);
                if (message.lock != null && $Object.hasOwnProperty.call(message, "lock"))
                    $root.engram.v3.Lock.encode(message.lock, writer.uint32(18).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            LockEvent.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.LockEvent();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.action = value;
                            else
                                delete message.action;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            message.lock = $root.engram.v3.Lock.decode(reader, reader.size(), $undefined, _depth + 1, message.lock);
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            LockEvent.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.LockEvent";
            };

            return LockEvent;
        })();

        v3.PresenceMember = (function() {

            const PresenceMember = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            PresenceMember.prototype.clientId = "";
            PresenceMember.prototype.agentId = "";
            PresenceMember.prototype.connections = 0;
            PresenceMember.prototype.since = null;

            PresenceMember.create = function(properties) {
                return new PresenceMember(properties);
            };

            PresenceMember.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.clientId != null && $Object.hasOwnProperty.call(message, "clientId") && message.clientId !== "")
                    writer.uint32(10).string(message.clientId);
                if (message.agentId != null && $Object.hasOwnProperty.call(message, "agentId") && message.agentId !== "")
                    writer.uint32(18).string(message.agentId);
                if (message.connections != null && $Object.hasOwnProperty.call(message, "connections") && message.connections !== 0)
                    writer.uint32(24).uint32(message.connections);
                if (message.since != null && $Object.hasOwnProperty.call(message, "since"))
                    $root.google.protobuf.Timestamp.encode(message.since, writer.uint32(34).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            PresenceMember.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.PresenceMember();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.clientId = value;
                            else
                                delete message.clientId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.agentId = value;
                            else
                                delete message.agentId;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.connections = value;
                            else
                                delete message.connections;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            message.since = $root.google.protobuf.Timestamp.decode(reader, reader.size(), $undefined, _depth + 1, message.since);
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            PresenceMember.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.PresenceMember";
            };

            return PresenceMember;
        })();

        v3.PresenceEvent = (function() {

            const PresenceEvent = function (properties) {
                this.members = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            PresenceEvent.prototype.action = "";
            PresenceEvent.prototype.contextId = "";
            PresenceEvent.prototype.members = $util.emptyArray;

            PresenceEvent.create = function(properties) {
                return new PresenceEvent(properties);
            };

            PresenceEvent.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.action != null && $Object.hasOwnProperty.call(message, "action") && message.action !== "")
                    writer.uint32(10).string(message.action);
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(18).string(message.contextId);
                if (message.members != null && message.members.length)
                    for (let i = 0; i < message.members.length; ++i)
                        $root.engram.v3.PresenceMember.encode(message.members[i], writer.uint32(26).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            PresenceEvent.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.PresenceEvent();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.action = value;
                            else
                                delete message.action;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if (!(message.members && message.members.length))
                                message.members = [];
                            message.members.push($root.engram.v3.PresenceMember.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            PresenceEvent.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.PresenceEvent";
            };

            return PresenceEvent;
        })();

        v3.GetPresenceRequest = (function() {

            const GetPresenceRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            GetPresenceRequest.prototype.contextId = "";

            GetPresenceRequest.create = function(properties) {
                return new GetPresenceRequest(properties);
            };

            GetPresenceRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            GetPresenceRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.GetPresenceRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            GetPresenceRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.GetPresenceRequest";
            };

            return GetPresenceRequest;
        })();

        v3.Presence = (function() {

            const Presence = function (properties) {
                this.members = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Presence.prototype.contextId = "";
            Presence.prototype.members = $util.emptyArray;
            Presence.prototype.connections = 0;

            Presence.create = function(properties) {
                return new Presence(properties);
            };

            Presence.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.members != null && message.members.length)
                    for (let i = 0; i < message.members.length; ++i)
                        $root.engram.v3.PresenceMember.encode(message.members[i], writer.uint32(18).fork(), _depth + 1).ldelim();
                if (message.connections != null && $Object.hasOwnProperty.call(message, "connections") && message.connections !== 0)
                    writer.uint32(24).uint32(message.connections);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Presence.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.Presence();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if (!(message.members && message.members.length))
                                message.members = [];
                            message.members.push($root.engram.v3.PresenceMember.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.connections = value;
                            else
                                delete message.connections;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Presence.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.Presence";
            };

            return Presence;
        })();

        v3.GetWindowRequest = (function() {

            const GetWindowRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            GetWindowRequest.prototype.contextId = "";
            GetWindowRequest.prototype.budget = 0;
            GetWindowRequest.prototype.query = "";
            GetWindowRequest.prototype.model = "";
            GetWindowRequest.prototype.encoding = "";
            GetWindowRequest.prototype.relevantShare = null;
            GetWindowRequest.prototype.relevantLimit = null;
            GetWindowRequest.prototype.summaries = false;
            GetWindowRequest.prototype.summaryShare = null;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(GetWindowRequest.prototype, "_relevantShare", {
                get: $util.oneOfGetter($oneOfFields = ["relevantShare"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(GetWindowRequest.prototype, "_relevantLimit", {
                get: $util.oneOfGetter($oneOfFields = ["relevantLimit"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(GetWindowRequest.prototype, "_summaryShare", {
                get: $util.oneOfGetter($oneOfFields = ["summaryShare"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            GetWindowRequest.create = function(properties) {
                return new GetWindowRequest(properties);
            };

            GetWindowRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.budget != null && $Object.hasOwnProperty.call(message, "budget") && message.budget !== 0)
                    writer.uint32(16).uint32(message.budget);
                if (message.query != null && $Object.hasOwnProperty.call(message, "query") && message.query !== "")
                    writer.uint32(26).string(message.query);
                if (message.model != null && $Object.hasOwnProperty.call(message, "model") && message.model !== "")
                    writer.uint32(34).string(message.model);
                if (message.encoding != null && $Object.hasOwnProperty.call(message, "encoding") && message.encoding !== "")
                    writer.uint32(42).string(message.encoding);
                if (message.relevantShare != null && $Object.hasOwnProperty.call(message, "relevantShare"))
                    writer.uint32(49).double(message.relevantShare);
                if (message.relevantLimit != null && $Object.hasOwnProperty.call(message, "relevantLimit"))
                    writer.uint32(56).uint32(message.relevantLimit);
                if (message.summaries != null && $Object.hasOwnProperty.call(message, "summaries") && message.summaries !== false)
                    writer.uint32(64).bool(message.summaries);
                if (message.summaryShare != null && $Object.hasOwnProperty.call(message, "summaryShare"))
                    writer.uint32(73).double(message.summaryShare);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            GetWindowRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.GetWindowRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.budget = value;
                            else
                                delete message.budget;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.query = value;
                            else
                                delete message.query;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.model = value;
                            else
                                delete message.model;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.encoding = value;
                            else
                                delete message.encoding;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 1)
                                break;
                            message.relevantShare = reader.double();
                            message._relevantShare = "relevantShare";
                            continue;
                        }
                    case 7: {
                            if (wireType !== 0)
                                break;
                            message.relevantLimit = reader.uint32();
                            message._relevantLimit = "relevantLimit";
                            continue;
                        }
                    case 8: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.summaries = value;
                            else
                                delete message.summaries;
                            continue;
                        }
                    case 9: {
                            if (wireType !== 1)
                                break;
                            message.summaryShare = reader.double();
                            message._summaryShare = "summaryShare";
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            GetWindowRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.GetWindowRequest";
            };

            return GetWindowRequest;
        })();

        v3.WindowUnit = (function() {

            const WindowUnit = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            WindowUnit.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            WindowUnit.prototype.tokens = 0;
            WindowUnit.prototype.reason = "";
            WindowUnit.prototype.score = null;
            WindowUnit.prototype.workUnit = null;

            let $oneOfFields;

            // Virtual OneOf for proto3 optional field
            $Object.defineProperty(WindowUnit.prototype, "_score", {
                get: $util.oneOfGetter($oneOfFields = ["score"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            WindowUnit.create = function(properties) {
                return new WindowUnit(properties);
            };

            WindowUnit.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.seq != null && $Object.hasOwnProperty.call(message, "seq") && (typeof message.seq === "object" ? message.seq.low || message.seq.high : message.seq !== 0))
                    writer.uint32(8).uint64(message.seq);
                if (message.tokens != null && $Object.hasOwnProperty.call(message, "tokens") && message.tokens !== 0)
                    writer.uint32(16).uint32(message.tokens);
                if (message.reason != null && $Object.hasOwnProperty.call(message, "reason") && message.reason !== "")
                    writer.uint32(26).string(message.reason);
                if (message.score != null && $Object.hasOwnProperty.call(message, "score"))
                    writer.uint32(33).double(message.score);
                if (message.workUnit != null && $Object.hasOwnProperty.call(message, "workUnit"))
                    $root.engram.v3.WorkUnit.encode(message.workUnit, writer.uint32(42).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            WindowUnit.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.WindowUnit();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.seq = value;
                            else
                                delete message.seq;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.tokens = value;
                            else
                                delete message.tokens;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.reason = value;
                            else
                                delete message.reason;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 1)
                                break;
                            message.score = reader.double();
                            message._score = "score";
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            message.workUnit = $root.engram.v3.WorkUnit.decode(reader, reader.size(), $undefined, _depth + 1, message.workUnit);
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            WindowUnit.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.WindowUnit";
            };

            return WindowUnit;
        })();

        v3.ContextWindow = (function() {

            const ContextWindow = function (properties) {
                this.units = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            ContextWindow.prototype.contextId = "";
            ContextWindow.prototype.encoding = "";
            ContextWindow.prototype.exact = false;
            ContextWindow.prototype.budget = 0;
            ContextWindow.prototype.tokens = 0;
            ContextWindow.prototype.units = $util.emptyArray;
            ContextWindow.prototype.headSeq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            ContextWindow.prototype.recentFrom = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
            ContextWindow.prototype.counted = 0;

            ContextWindow.create = function(properties) {
                return new ContextWindow(properties);
            };

            ContextWindow.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.contextId != null && $Object.hasOwnProperty.call(message, "contextId") && message.contextId !== "")
                    writer.uint32(10).string(message.contextId);
                if (message.encoding != null && $Object.hasOwnProperty.call(message, "encoding") && message.encoding !== "")
                    writer.uint32(18).string(message.encoding);
                if (message.exact != null && $Object.hasOwnProperty.call(message, "exact") && message.exact !== false)
                    writer.uint32(24).bool(message.exact);
                if (message.budget != null && $Object.hasOwnProperty.call(message, "budget") && message.budget !== 0)
                    writer.uint32(32).uint32(message.budget);
                if (message.tokens != null && $Object.hasOwnProperty.call(message, "tokens") && message.tokens !== 0)
                    writer.uint32(40).uint32(message.tokens);
                if (message.units != null && message.units.length)
                    for (let i = 0; i < message.units.length; ++i)
                        $root.engram.v3.WindowUnit.encode(message.units[i], writer.uint32(50).fork(), _depth + 1).ldelim();
                if (message.headSeq != null && $Object.hasOwnProperty.call(message, "headSeq") && (typeof message.headSeq === "object" ? message.headSeq.low || message.headSeq.high : message.headSeq !== 0))
                    writer.uint32(56).uint64(message.headSeq);
                if (message.recentFrom != null && $Object.hasOwnProperty.call(message, "recentFrom") && (typeof message.recentFrom === "object" ? message.recentFrom.low || message.recentFrom.high : message.recentFrom !== 0))
                    writer.uint32(64).uint64(message.recentFrom);
                if (message.counted != null && $Object.hasOwnProperty.call(message, "counted") && message.counted !== 0)
                    writer.uint32(72).uint32(message.counted);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            ContextWindow.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.engram.v3.ContextWindow();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.contextId = value;
                            else
                                delete message.contextId;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.encoding = value;
                            else
                                delete message.encoding;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.exact = value;
                            else
                                delete message.exact;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.budget = value;
                            else
                                delete message.budget;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.tokens = value;
                            else
                                delete message.tokens;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            if (!(message.units && message.units.length))
                                message.units = [];
                            message.units.push($root.engram.v3.WindowUnit.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 7: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.headSeq = value;
                            else
                                delete message.headSeq;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.recentFrom = value;
                            else
                                delete message.recentFrom;
                            continue;
                        }
                    case 9: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.counted = value;
                            else
                                delete message.counted;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            ContextWindow.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/engram.v3.ContextWindow";
            };

            return ContextWindow;
        })();

        return v3;
    })();

    return engram;
})();

export const google = $root.google = (() => {

    const google = {};

    google.protobuf = (function() {

        const protobuf = {};

        protobuf.Timestamp = (function() {

            const Timestamp = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            Timestamp.prototype.seconds = $util.Long ? $util.Long.fromBits(0,0,false) : 0;
            Timestamp.prototype.nanos = 0;

            Timestamp.create = function(properties) {
                return new Timestamp(properties);
            };

            Timestamp.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.seconds != null && $Object.hasOwnProperty.call(message, "seconds") && (typeof message.seconds === "object" ? message.seconds.low || message.seconds.high : message.seconds !== 0))
                    writer.uint32(8).int64(message.seconds);
                if (message.nanos != null && $Object.hasOwnProperty.call(message, "nanos") && message.nanos !== 0)
                    writer.uint32(16).int32(message.nanos);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            Timestamp.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.google.protobuf.Timestamp();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.int64()) === "object" ? value.low || value.high : value !== 0)
                                message.seconds = value;
                            else
                                delete message.seconds;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.int32())
                                message.nanos = value;
                            else
                                delete message.nanos;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            Timestamp.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/google.protobuf.Timestamp";
            };

            return Timestamp;
        })();

        return protobuf;
    })();

    return google;
})();

export {
  $root as default
};
