# Extracts data/openapi-v1.21.2.json from the Kubernetes v1.21.2 OpenAPI document that Kustomize
# v5.7.1 embeds (gzipped swagger.pb inside the kubectl v1.35.2 binary). Usage: find the gzip stream
# starting with "\n\x032.0" in kubectl, gunzip it to swagger-1.21.2.pb, then run this script.
import json,sys
buf=open('swagger-1.21.2.pb','rb').read()
def varint(b,i):
    r=0;s=0
    while True:
        c=b[i];i+=1;r|=(c&0x7f)<<s;s+=7
        if c<0x80: return r,i
def fields(b):
    i=0;n=len(b)
    while i<n:
        k,i=varint(b,i);f=k>>3;t=k&7
        if t==0: v,i=varint(b,i)
        elif t==1: v=b[i:i+8];i+=8
        elif t==5: v=b[i:i+4];i+=4
        elif t==2:
            l,i=varint(b,i);v=b[i:i+l];i+=l
        else: raise Exception('wt %d'%t)
        yield f,t,v
def s(v): return v.decode()
def named_any(b):
    name=None;yml=None
    for f,t,v in fields(b):
        if f==1: name=s(v)
        elif f==2:
            for f2,t2,v2 in fields(v):
                if f2==2: yml=s(v2)
    return name,yml
def schema(b):
    out={}
    for f,t,v in fields(b):
        if f==1: out['$ref']=s(v)
        elif f==22:
            out['type']=[s(v2) for f2,t2,v2 in fields(v) if f2==1]
        elif f==23:
            its=[schema(v2) for f2,t2,v2 in fields(v) if f2==1]
            if its: out['items']=its[0]
        elif f==25:
            props={}
            for f2,t2,v2 in fields(v):
                if f2==1:
                    nm=None;sc=None
                    for f3,t3,v3 in fields(v2):
                        if f3==1: nm=s(v3)
                        elif f3==2: sc=schema(v3)
                    props[nm]=sc
            out['properties']=props
        elif f==21:
            for f2,t2,v2 in fields(v):
                if f2==1: out['additionalProperties']=schema(v2)
        elif f==31:
            n,y=named_any(v)
            out.setdefault('ext',{})[n]=y
    return out
doc={'definitions':{},'paths':{}}
for f,t,v in fields(buf):
    if f==9:
        for f2,t2,v2 in fields(v):
            if f2==1:
                nm=None;sc=None
                for f3,t3,v3 in fields(v2):
                    if f3==1: nm=s(v3)
                    elif f3==2: sc=schema(v3)
                doc['definitions'][nm]=sc
    elif f==8:
        for f2,t2,v2 in fields(v):
            if f2==2:
                nm=None;gvk=None;hasget=False
                for f3,t3,v3 in fields(v2):
                    if f3==1: nm=s(v3)
                    elif f3==2:
                        for f4,t4,v4 in fields(v3):
                            if f4==2:  # get
                                hasget=True
                                for f5,t5,v5 in fields(v4):
                                    if f5==13:
                                        n,y=named_any(v5)
                                        if n=='x-kubernetes-group-version-kind': gvk=y
                doc['paths'][nm]={'get':hasget,'gvk':gvk}
json.dump(doc,open('swagger-1.21.2.json','w'),indent=1)
print(len(doc['definitions']),len(doc['paths']))
import json,re
d=json.load(open('swagger-1.21.2.json'))
defs={}
def ref(s):
    r=s.get('$ref') if s else None
    return r.split('/')[-1] if r else None
for name,sc in d['definitions'].items():
    props={}
    for f,p in (sc.get('properties') or {}).items():
        r=ref(p); it=ref(p.get('items')) if p.get('items') else None
        ext=p.get('ext') or {}
        key=(ext.get('x-kubernetes-patch-merge-key') or '').strip()
        strat=(ext.get('x-kubernetes-patch-strategy') or '').strip()
        isarr='array' in (p.get('type') or [])
        lmk=[l[2:].strip().strip('"') for l in (ext.get('x-kubernetes-list-map-keys') or '').splitlines() if l.startswith('- ')]
        if r or it or key or strat or isarr:
            e={}
            if lmk: e['l']=lmk
            if r: e['r']=r
            if isarr: e['a']=1
            if it: e['i']=it
            if key: e['k']=key
            if strat: e['s']=strat
            props[f]=e
    if props: defs[name]=props
gvk={}
for name,sc in d['definitions'].items():
    y=(sc.get('ext') or {}).get('x-kubernetes-group-version-kind')
    if not y: continue
    # parse simple yaml list of group/kind/version
    items=[]; cur=None
    for line in y.splitlines():
        m=re.match(r'^(- )?\s*(group|kind|version): ?(.*)$',line)
        if not m: continue
        if m.group(1): cur={}; items.append(cur)
        elif cur is None: cur={}; items.append(cur)
        cur[m.group(2)]=m.group(3).strip().strip('"')
    for it in items:
        av=(it['group']+'/' if it.get('group') else '')+it['version']
        gvk[av+'/'+it['kind']]=name
scope={}
for p,v in d['paths'].items():
    if not v['gvk'] or not p.endswith('/{name}'): continue
    it={}
    for line in v['gvk'].splitlines():
        m=re.match(r'^\s*(group|kind|version): ?(.*)$',line)
        if m: it[m.group(1)]=m.group(2).strip().strip('"')
    av=(it['group']+'/' if it.get('group') else '')+it['version']
    k=av+'/'+it['kind']
    ns='namespaces/{namespace}' in p
    scope[k]=scope.get(k,False) or ns
cluster=sorted(k for k,v in scope.items() if not v)
out={'source':'Kubernetes v1.21.2 OpenAPI v2 document embedded in Kustomize v5.7.1 (kyaml/openapi/kubernetesapi/v1_21_2/swagger.pb)','gvk':dict(sorted(gvk.items())),'cluster_scoped':cluster,'defs':dict(sorted(defs.items()))}
s=json.dumps(out,separators=(',',':'),sort_keys=False)
open('openapi.json','w').write(s)
print(len(s), len(gvk), len(cluster)); print(cluster)
